using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Diagnostics;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>
/// The multi-device policy: once a new device is registered, the user's oldest devices of the same platform beyond
/// <c>Devices:MaxDevicesPerPlatform</c> are disconnected with SessionTakenOver.
/// </summary>
internal sealed class DevicePlatformLimiter(
    ConnectedDeviceRegistry registry, IConnectionCloser closer, IOptions<DeviceOptions> options, ILogger<DevicePlatformLimiter> logger)
{
    /// <summary>Starts disconnecting the devices the newcomer displaces; does not wait for them to go. Never throws.</summary>
    public void Enforce(ConnectedDevice newcomer)
    {
        if (newcomer.Platform.Length == 0 || !options.Value.MaxDevicesPerPlatform.TryGetValue(newcomer.Platform, out var limit) || limit <= 0)
        {
            return;
        }

        foreach (var device in SelectDisplaced(registry.DevicesOf(newcomer.UserId), newcomer.Platform, limit))
        {
            _ = DisconnectAsync(device);
        }
    }

    /// <summary>The devices of that platform beyond the limit, oldest first; the newest <paramref name="limit"/> stay.</summary>
    public static IReadOnlyList<ConnectedDevice> SelectDisplaced(IEnumerable<ConnectedDevice> userDevices, string platform, int limit)
    {
        var samePlatform = userDevices
            .Where(d => string.Equals(d.Platform, platform, StringComparison.Ordinal))
            .OrderBy(d => d.ConnectOrder)
            .ToList();
        return samePlatform.Count <= limit ? [] : samePlatform.GetRange(0, samePlatform.Count - limit);
    }

    private async Task DisconnectAsync(ConnectedDevice device)
    {
        var reason = $"signed in on another {device.Platform}";
        try
        {
            // Both newcomers of a simultaneous pair pick the same oldest device; it may already be gone.
            if (!registry.IsCurrent(device))
            {
                return;
            }

            ImLog.ClientKicked(logger, device.ClientId, reason);
            await closer.DisconnectAsync(device.ClientId, CloseReason.SessionTakenOver, reason).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ImLog.KickFailed(logger, ex, device.ClientId);
        }
    }
}
