using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MqttIm.ImExtensions.Devices.Storage;

/// <summary>How the SQL stores keep small lists (owners, device ids, a command's history) in one text column.</summary>
internal static class StoredJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public static string Write<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Read<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)!;

    public static IReadOnlyList<string> ReadStrings(string json) => Read<List<string>>(json);

    /// <summary>
    /// A command's history, <c>[{"state":"Queued","atMs":…,"detail":…},…]</c> — the text <see cref="Write{T}"/> gives, written
    /// by hand because every state change of every command reads and rewrites it (the serializer's walk was ~5 % of a command).
    /// </summary>
    public static string WriteHistory(IReadOnlyList<CommandTransition> history)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + (48 * history.Count));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var step in history)
            {
                json.WriteStartObject();
                json.WriteString("state", StateNames[(int)step.State]);
                json.WriteNumber("atMs", step.AtMs);
                if (step.Detail is null)
                {
                    json.WriteNull("detail");
                }
                else
                {
                    json.WriteString("detail", step.Detail);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads what <see cref="WriteHistory"/> (or the serializer, or PostgreSQL's jsonb text) wrote: any property order, names in any case.</summary>
    public static IReadOnlyList<CommandTransition> ReadHistory(string json)
    {
        var max = Encoding.UTF8.GetMaxByteCount(json.Length);
        var rented = max <= 1024 ? null : ArrayPool<byte>.Shared.Rent(max);
        Span<byte> bytes = rented is null ? stackalloc byte[1024] : rented;
        try
        {
            var length = Encoding.UTF8.GetBytes(json, bytes);
            return ReadHistory(bytes[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static readonly string[] StateNames = Enum.GetNames<CommandState>();

    private static List<CommandTransition> ReadHistory(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        var history = new List<CommandTransition>(6);
        Expect(ref reader, JsonTokenType.StartArray);
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("a command history entry is an object");
            }

            CommandState? state = null;
            long atMs = 0;
            string? detail = null;
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                Next(ref reader);
                if (name.Equals("state", StringComparison.OrdinalIgnoreCase))
                {
                    state = reader.TokenType == JsonTokenType.Number
                        ? (CommandState)reader.GetInt32()
                        : Enum.Parse<CommandState>(reader.GetString()!, ignoreCase: true);
                }
                else if (name.Equals("atMs", StringComparison.OrdinalIgnoreCase))
                {
                    atMs = reader.GetInt64();
                }
                else if (name.Equals("detail", StringComparison.OrdinalIgnoreCase))
                {
                    detail = reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            history.Add(new CommandTransition(state ?? throw new JsonException("a command history entry has no state"), atMs, detail));
        }

        return history;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("a command history ends early");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (Next(ref reader) != type)
        {
            throw new JsonException($"a command history starts with {type}");
        }
    }
}
