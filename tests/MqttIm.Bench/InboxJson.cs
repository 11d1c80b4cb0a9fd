using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace MqttIm.Bench;

/// <summary>Reads the few fields the scenarios need from an inbox event without building a document (receivers are hot).</summary>
internal static class InboxJson
{
    /// <summary>Reads <c>{"message":{"conversationId":..,"seq":"5","text":".."}}</c>; false for any other inbox event.</summary>
    public static bool TryReadMessage(in ReadOnlySequence<byte> payload, out string conversationId, out long seq, out string text)
    {
        conversationId = "";
        seq = -1;
        text = "";
        var reader = new Utf8JsonReader(payload);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || !reader.Read()
            || reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals("message"u8)
            || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != depth + 1)
            {
                continue;
            }

            if (reader.ValueTextEquals("conversationId"u8))
            {
                reader.Read();
                conversationId = reader.GetString() ?? "";
            }
            else if (reader.ValueTextEquals("seq"u8))
            {
                reader.Read();
                seq = reader.TokenType == JsonTokenType.String ? long.Parse(reader.GetString()!, CultureInfo.InvariantCulture) : reader.GetInt64();
            }
            else if (reader.ValueTextEquals("text"u8))
            {
                reader.Read();
                text = reader.GetString() ?? "";
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return seq >= 0;
    }

    /// <summary>The send timestamp a scenario put at the start of the text (<c>ts=… …</c>), or 0.</summary>
    public static long SentAt(string text)
    {
        if (!text.StartsWith("ts=", StringComparison.Ordinal))
        {
            return 0;
        }

        var end = text.IndexOf(' ', StringComparison.Ordinal);
        return long.TryParse(text.AsSpan(3, (end < 0 ? text.Length : end) - 3), NumberStyles.None, CultureInfo.InvariantCulture, out var sentAt) ? sentAt : 0;
    }
}
