using System.Text.Unicode;

namespace MqttIm.Broker.Listeners;

/// <summary>The spec's rules for UTF-8 strings and topic names (MQTT 5 §1.5.4, §4.7; 3.1.1 §1.5.3, §4.7).</summary>
internal static class MqttStrings
{
    /// <summary>Well-formed UTF-8 (no surrogates, no overlongs) without U+0000.</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> text) => text.IndexOf((byte)0) < 0 && Utf8.IsValid(text);

    /// <summary>A topic name a client may publish to: a well-formed string with no wildcard characters.</summary>
    public static bool IsValidTopicName(ReadOnlySpan<byte> topic) =>
        topic.IndexOfAny((byte)'+', (byte)'#', (byte)0) < 0 && Utf8.IsValid(topic);
}
