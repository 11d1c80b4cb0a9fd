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

    public static IReadOnlyList<CommandTransition> ReadHistory(string json) => Read<List<CommandTransition>>(json);
}
