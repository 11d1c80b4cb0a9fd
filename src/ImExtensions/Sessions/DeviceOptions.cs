namespace MqttIm.ImExtensions.Sessions;

/// <summary>Configuration section <c>Devices</c>: the multi-device policy.</summary>
public sealed class DeviceOptions
{
    public const string SectionName = "Devices";

    /// <summary>
    /// Platform (MQTT 5 CONNECT user property <c>platform</c>, lowercase) → devices of one user that may be connected on
    /// it at once; a newer device disconnects the oldest beyond. Platforms not listed, values ≤ 0 and devices that send
    /// no platform (all MQTT 3.1.1 clients) are not limited. Configured keys are added to the defaults.
    /// </summary>
    public Dictionary<string, int> MaxDevicesPerPlatform { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["phone"] = 1,
        ["tablet"] = 1,
        ["desktop"] = 1,
        ["web"] = 3,
    };
}
