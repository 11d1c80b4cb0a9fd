using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Moderation;

/// <summary>Configuration section <c>Moderation</c>: the per-connection and per-user publish rate limits and the sensitive-word filter.</summary>
public sealed class ModerationOptions
{
    public const string SectionName = "Moderation";

    /// <summary>Publishes per second one connection may sustain (every topic, IM and plain); 0 turns the limit off.</summary>
    [Range(0, 1_000_000)]
    public double PublishesPerSecond { get; set; } = 200;

    /// <summary>Publishes one connection may send at once before the rate applies; 0 turns the limit off.</summary>
    [Range(0, 10_000_000)]
    public double PublishBurst { get; set; } = 400;

    /// <summary>
    /// Publishes per second one user may sustain over all their connections together (cluster mode: over every node, the
    /// bucket lives in Redis); 0 turns the per-user limit off (the default). IoT devices and anonymous clients have the
    /// per-connection limit only.
    /// </summary>
    [Range(0, 1_000_000)]
    public double UserPublishesPerSecond { get; set; }

    /// <summary>Publishes one user may send at once over all their connections before <see cref="UserPublishesPerSecond"/> applies; 0 turns it off.</summary>
    [Range(0, 10_000_000)]
    public double UserPublishBurst { get; set; }

    /// <summary>Words refused or masked in chat text (matched ignoring case).</summary>
    public string[] SensitiveWords { get; set; } = [];

    /// <summary>A UTF-8 file with one more word per line; blank lines and lines starting with <c>#</c> are skipped.</summary>
    public string? SensitiveWordsFile { get; set; }

    /// <summary>What happens to a text that contains a sensitive word.</summary>
    public SensitiveWordMode SensitiveWordMode { get; set; } = SensitiveWordMode.Reject;

    /// <summary>Whether the rate limit is on.</summary>
    public bool RateLimitEnabled => PublishesPerSecond > 0 && PublishBurst > 0;

    /// <summary>Whether the per-user limit is on.</summary>
    public bool UserRateLimitEnabled => UserPublishesPerSecond > 0 && UserPublishBurst > 0;
}
