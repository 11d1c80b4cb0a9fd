using MongoDB.Bson.Serialization.Attributes;

namespace MqttIm.ImExtensions.Devices.Storage.Mongo;

/// <summary>The BSON shapes of the device stores (kept apart from the domain records, which stay free of driver attributes).</summary>
internal sealed class DeviceDocument
{
    [BsonId] public string DeviceId { get; set; } = "";
    public string SecretHash { get; set; } = "";
    public bool Disabled { get; set; }
    public List<string> Owners { get; set; } = [];
    public long CreatedMs { get; set; }
    public long SecretChangedMs { get; set; }

    public static DeviceDocument From(DeviceRecord d) => new()
    {
        DeviceId = d.DeviceId, SecretHash = d.SecretHash, Disabled = d.Disabled, Owners = [.. d.Owners], CreatedMs = d.CreatedMs, SecretChangedMs = d.SecretChangedMs,
    };

    public DeviceRecord ToRecord() => new(DeviceId, SecretHash, Disabled, Owners, CreatedMs, SecretChangedMs);
}

internal sealed class TelemetryDocument
{
    [BsonId] public string Key { get; set; } = "";
    public string DeviceId { get; set; } = "";
    public long PointId { get; set; }
    public long ReceivedMs { get; set; }
    public string Subtopic { get; set; } = "";
    public string ContentType { get; set; } = "";
    public byte[] Payload { get; set; } = [];

    public static TelemetryDocument From(TelemetryPoint p) => new()
    {
        Key = p.DeviceId + "|" + p.Id, DeviceId = p.DeviceId, PointId = p.Id, ReceivedMs = p.ReceivedMs, Subtopic = p.Subtopic, ContentType = p.ContentType, Payload = p.Payload,
    };

    public TelemetryPoint ToPoint() => new(DeviceId, PointId, ReceivedMs, Subtopic, ContentType, Payload);
}

internal sealed class CommandDocument
{
    [BsonId] public string CommandId { get; set; } = "";
    public string DeviceId { get; set; } = "";
    public long Seq { get; set; }
    public string Name { get; set; } = "";
    public string Payload { get; set; } = "";
    public string State { get; set; } = "";
    public long CreatedMs { get; set; }
    public long ExpiresAtMs { get; set; }
    public long TimeoutMs { get; set; }
    public int Attempts { get; set; }
    public int MaxRetries { get; set; }
    public string IssuedBy { get; set; } = "";
    public string? Result { get; set; }
    public List<TransitionDocument> History { get; set; } = [];

    public static CommandDocument From(CommandRecord c) => new()
    {
        CommandId = c.CommandId, DeviceId = c.DeviceId, Seq = c.Seq, Name = c.Name, Payload = c.Payload, State = c.State.ToString(), CreatedMs = c.CreatedMs,
        ExpiresAtMs = c.ExpiresAtMs, TimeoutMs = c.TimeoutMs, Attempts = c.Attempts, MaxRetries = c.MaxRetries, IssuedBy = c.IssuedBy, Result = c.Result,
        History = c.History.Select(TransitionDocument.From).ToList(),
    };

    public CommandRecord ToRecord() => new(CommandId, DeviceId, Seq, Name, Payload, Enum.Parse<CommandState>(State), CreatedMs, ExpiresAtMs, TimeoutMs,
        Attempts, MaxRetries, IssuedBy, Result, History.Select(h => h.ToTransition()).ToList());
}

internal sealed class TransitionDocument
{
    public string State { get; set; } = "";
    public long AtMs { get; set; }
    public string? Detail { get; set; }

    public static TransitionDocument From(CommandTransition t) => new() { State = t.State.ToString(), AtMs = t.AtMs, Detail = t.Detail };

    public CommandTransition ToTransition() => new(Enum.Parse<CommandState>(State), AtMs, Detail);
}

internal sealed class CommandSeqDocument
{
    [BsonId] public string DeviceId { get; set; } = "";
    public long LastSeq { get; set; }
}

internal sealed class ScheduleDocument
{
    [BsonId] public string ScheduleId { get; set; } = "";
    public List<string> DeviceIds { get; set; } = [];
    public string CommandName { get; set; } = "";
    public string Payload { get; set; } = "";
    public string? Cron { get; set; }
    public long RunAtMs { get; set; }
    public long ExpirySeconds { get; set; }
    public long CreatedMs { get; set; }

    public static ScheduleDocument From(CommandSchedule s) => new()
    {
        ScheduleId = s.ScheduleId, DeviceIds = [.. s.DeviceIds], CommandName = s.CommandName, Payload = s.Payload, Cron = s.Cron, RunAtMs = s.RunAtMs,
        ExpirySeconds = s.ExpirySeconds, CreatedMs = s.CreatedMs,
    };

    public CommandSchedule ToSchedule() => new(ScheduleId, DeviceIds, CommandName, Payload, Cron, RunAtMs, ExpirySeconds, CreatedMs);
}
