using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Rooms;

// 20 frames/s for the node: 3 viewers at 10 windows/s want 30, so windows stretch to 200 ms.
public sealed class AdaptiveWindowBrokerFixture() : BrokerFixture(
    "--Rooms:UserMessagesPerSecond=0", "--Moderation:PublishesPerSecond=0", "--Rooms:NodeFramesPerSecond=20", "--Rooms:MaxFrameIntervalMs=300");

/// <summary>The merge window follows the node's audience (Rooms:NodeFramesPerSecond), and room semantics hold with it.</summary>
public sealed class AdaptiveWindowTests(AdaptiveWindowBrokerFixture fixture) : IClassFixture<AdaptiveWindowBrokerFixture>
{
    private const string WindowMetric = "mqttim_room_frame_interval_ms";
    private readonly BrokerProcess _broker = fixture.Broker;

    [Fact]
    public async Task ManyViewers_StretchTheWindow_GiftsStillAllArriveInOrder_AndItShrinksWhenTheyLeave()
    {
        var roomId = TestUsers.Unique("adaptive");
        await RoomAdminApi.CreateAsync(_broker, roomId, maxMessagesPerSecond: 1000);
        await using var first = await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true);
        var others = new[]
        {
            await RoomViewerProbe.JoinAsync(_broker, roomId, qos: MQTTnet.Protocol.MqttQualityOfServiceLevel.AtMostOnce),
            await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true, qos: MQTTnet.Protocol.MqttQualityOfServiceLevel.AtMostOnce),
        };
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 3);
        await WaitForWindowAsync(200);

        const int Gifts = 40;
        await Task.WhenAll(Enumerable.Range(0, Gifts).Select(i => first.SendAsync(new RoomSend { Kind = "gift", GiftId = "rose", ClientMsgId = "g" + i })));
        foreach (var viewer in others.Prepend(first))
        {
            var frames = await viewer.CollectAsync(f => RoomViewerProbe.Messages(f, "gift").Count() >= Gifts, TimeSpan.FromSeconds(20));
            Assert.Equal(Enumerable.Range(1, Gifts).Select(i => (long)i), RoomViewerProbe.Messages(frames, "gift").Select(m => m.Seq));
        }

        foreach (var viewer in others)
        {
            await viewer.DisposeAsync();
        }

        // One viewer wants 10 frames/s: back to the configured 100 ms.
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 1);
        await WaitForWindowAsync(100);
    }

    private async Task WaitForWindowAsync(double expectedMs)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        double last;
        do
        {
            last = await RoomViewerProbe.MetricAsync(_broker, WindowMetric);
            if (last == expectedMs)
            {
                return;
            }

            await Task.Delay(50); // the gauge is set once per pump tick; polled with a deadline
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"the room window stayed at {last} ms, expected {expectedMs} ms");
    }
}
