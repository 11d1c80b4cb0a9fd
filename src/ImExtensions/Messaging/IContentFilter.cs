namespace MqttIm.ImExtensions.Messaging;

/// <summary>Reviews message text before it is stored: lets it pass, rewrites it (masking), or refuses it.</summary>
internal interface IContentFilter
{
    ContentVerdict Review(string text);
}

/// <summary>A filter's answer: <see cref="Text"/> is what to store when not rejected.</summary>
internal readonly record struct ContentVerdict(bool Rejected, string Text, string? Reason)
{
    public static ContentVerdict Pass(string text) => new(false, text, null);

    public static ContentVerdict Reject(string reason) => new(true, "", reason);
}

/// <summary>The default when no filter is configured.</summary>
internal sealed class PassThroughContentFilter : IContentFilter
{
    public ContentVerdict Review(string text) => ContentVerdict.Pass(text);
}
