namespace MqttIm.ImExtensions.Devices.Storage;

/// <summary>One telemetry uplink as stored.</summary>
/// <param name="Id">Time-ordered and unique per device (<see cref="TelemetryIds"/>): the paging cursor.</param>
/// <param name="Subtopic">What followed <c>device/{id}/telemetry</c> (empty, or e.g. <c>gps</c>).</param>
public sealed record TelemetryPoint(string DeviceId, long Id, long ReceivedMs, string Subtopic, string ContentType, byte[] Payload);
