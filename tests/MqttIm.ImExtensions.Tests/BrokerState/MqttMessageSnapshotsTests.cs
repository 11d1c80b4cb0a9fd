using System.Globalization;
using System.Text.Json;
using MqttIm.ImExtensions.BrokerState;
using MqttIm.ImExtensions.Flow;

namespace MqttIm.ImExtensions.Tests.BrokerState;

/// <summary>A stored message's expiry after a restart counts its age once.</summary>
public sealed class MqttMessageSnapshotsTests
{
    private const long Now = 1_800_000_000_000;

    private static StoredMqttMessage Stored(uint expirySeconds, long storedAgoMs, long? stampedAgoMs) =>
        new("plain/t", "x"u8.ToArray(), 1, JsonSerializer.SerializeToUtf8Bytes(new StoredMessageProperties(null, null, null, 0, expirySeconds,
            stampedAgoMs is { } ago ? [[MessageExpiryStamp.Key, (Now - ago).ToString(CultureInfo.InvariantCulture)]] : null)), Now - storedAgoMs);

    [Fact]
    public void StampedMessage_KeepsItsIntervalAndStamp_ThePacketLayerCountsTheAge()
    {
        var message = MqttMessageSnapshots.ToMessage(Stored(60, storedAgoMs: 10_000, stampedAgoMs: 10_000), Now, retain: true);

        Assert.NotNull(message);
        Assert.Equal(60u, message.MessageExpiryInterval);
        Assert.Contains(message.UserProperties!, p => p.Name == MessageExpiryStamp.Key);
    }

    [Fact]
    public void StampedMessage_OlderThanItsInterval_IsGone()
    {
        Assert.Null(MqttMessageSnapshots.ToMessage(Stored(60, storedAgoMs: 1_000, stampedAgoMs: 60_001), Now, retain: true));
    }

    [Fact]
    public void UnstampedMessage_GetsWhatIsLeftOfItsInterval()
    {
        var message = MqttMessageSnapshots.ToMessage(Stored(60, storedAgoMs: 10_500, stampedAgoMs: null), Now, retain: false);

        Assert.Equal(50u, message!.MessageExpiryInterval);
        Assert.Null(MqttMessageSnapshots.ToMessage(Stored(60, storedAgoMs: 60_000, stampedAgoMs: null), Now, retain: false));
    }
}
