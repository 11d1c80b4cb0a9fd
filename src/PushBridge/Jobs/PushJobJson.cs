using System.Text.Json;

namespace MqttIm.PushBridge.Jobs;

/// <summary>How a job is kept in a store row/document: the whole record as JSON, so the schema stays two columns wide.</summary>
internal static class PushJobJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Serialize(PushJob job) => JsonSerializer.Serialize(job, Options);

    public static PushJob Deserialize(string json) => JsonSerializer.Deserialize<PushJob>(json, Options)
        ?? throw new InvalidDataException("a stored push job is empty");
}
