namespace MqttIm.Broker.Api;

/// <summary><c>Demo:Enabled</c>: lets the chat demo page mint tokens without the admin key. For a laptop, never for production.</summary>
public sealed class DemoOptions
{
    public const string SectionName = "Demo";

    public bool Enabled { get; set; }

    /// <summary>Lifetime of a demo token.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(12);
}
