using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// The refusals only devices have (the PUBACK's reason code by kind, and the MQTT 5 <c>code</c> property); invalid payload,
/// not authorized, invalid topic and rate limited are <see cref="UplinkRejection"/>'s own, with the same codes as for chat.
/// </summary>
internal static class DeviceRejections
{
    public static UplinkRejection TooLarge(string message) => new(RejectionKind.QuotaExceeded, "payload_too_large", message);

    public static UplinkRejection QueueFull(string message) => new(RejectionKind.QuotaExceeded, "queue_full", message);

    public static UplinkRejection WrongState(string message) => new(RejectionKind.WrongState, "wrong_state", message);

    public static UplinkRejection NoOwner(string message) => new(RejectionKind.NoRecipients, "no_owner", message);

    public static UplinkRejection Undeliverable(string message) => new(RejectionKind.Undeliverable, "undeliverable", message);

    public static UplinkRejection NotStored(string message) => new(RejectionKind.NotStored, "store_unavailable", message);
}
