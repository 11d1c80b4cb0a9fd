namespace MqttIm.ImExtensions.Devices.Storage;

/// <summary>A registered IoT device. The secret is kept only as a salted slow hash (<see cref="DeviceSecrets"/>).</summary>
/// <param name="Owners">Who may see and command the device: user ids, or <c>group:{groupId}</c> for every member of a group.</param>
public sealed record DeviceRecord(
    string DeviceId,
    string SecretHash,
    bool Disabled,
    IReadOnlyList<string> Owners,
    long CreatedMs,
    long SecretChangedMs);
