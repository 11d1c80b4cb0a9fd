using MqttIm.PushBridge.Vendors.Apns;
using MqttIm.PushBridge.Vendors.Fcm;
using MqttIm.PushBridge.Vendors.Hms;

namespace MqttIm.PushBridge.Vendors;

/// <summary>Every configured vendor app, found by (vendor, app id): one instance serves several apps per vendor.</summary>
internal sealed class PushChannelRegistry : IDisposable
{
    private readonly Dictionary<(string Vendor, string AppId), IPushChannel> _channels = [];

    public PushChannelRegistry(IEnumerable<IPushChannel> channels)
    {
        foreach (var channel in channels)
        {
            if (!_channels.TryAdd((channel.Vendor, channel.AppId), channel))
            {
                throw new InvalidOperationException($"push app {channel.Vendor}/{channel.AppId} is configured twice");
            }
        }
    }

    public static PushChannelRegistry FromOptions(PushOptions options, TimeProvider time) => new(
        options.Apns.Select(a => (IPushChannel)new ApnsChannel(a, options, time))
            .Concat(options.Fcm.Select(a => new FcmChannel(a, options, time)))
            .Concat(options.Hms.Select(a => new HmsChannel(a, options, time)))
            .ToList());

    public int Count => _channels.Count;

    public IPushChannel? Find(string vendor, string appId) => _channels.GetValueOrDefault((vendor, appId));

    public void Dispose()
    {
        foreach (var channel in _channels.Values.OfType<IDisposable>())
        {
            channel.Dispose();
        }
    }
}
