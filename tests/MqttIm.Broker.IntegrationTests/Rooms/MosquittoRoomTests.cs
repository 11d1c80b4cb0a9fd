using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Rooms;

/// <summary>The README walk-through: mosquitto_sub as a room viewer, mosquitto_pub sending danmaku and gifts as JSON.</summary>
public sealed class MosquittoRoomTests(RoomBrokerFixture fixture) : IClassFixture<RoomBrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly BrokerProcess _broker = fixture.Broker;

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task MosquittoSub_AsViewer_GetsJsonFrames_FromMosquittoPub(string protocol)
    {
        var pub = ProcessRunner.Require("mosquitto_pub", "mosquitto-clients");
        var sub = ProcessRunner.Require("mosquitto_sub", "mosquitto-clients");
        var roomId = TestUsers.Unique("mroom");
        await RoomAdminApi.CreateAsync(_broker, roomId);
        var (viewer, fan) = (TestUsers.Unique("mview"), TestUsers.Unique("mfan"));
        await using var subscriber = StreamingProcess.Start(sub,
            ["-d", "-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-V", protocol, "-u", viewer, "-P", _broker.Token(viewer),
             "-t", $"room/{roomId}", "-q", "1", "-W", "20"]);
        await subscriber.WaitForLineAsync(l => l.Contains("received SUBACK"), Timeout);

        foreach (var payload in new[] { "{\"text\":\"666\"}", "{\"kind\":\"gift\",\"giftId\":\"rocket\",\"giftCount\":2}" })
        {
            var sent = await ProcessRunner.RunAsync(pub,
                ["-h", "127.0.0.1", "-p", _broker.MqttPort.ToString(), "-V", protocol, "-u", fan, "-P", _broker.Token(fan),
                 "-t", $"room/{roomId}", "-q", "1", "-m", payload], Timeout);
            Assert.True(sent.ExitCode == 0, sent.StdErr);
        }

        var messages = new List<RoomMessage>();
        var deadline = DateTime.UtcNow + Timeout;
        while (messages.Count < 2 && DateTime.UtcNow < deadline)
        {
            var line = await subscriber.WaitForLineAsync(l => l.StartsWith('{'), deadline - DateTime.UtcNow);
            var frame = new Google.Protobuf.JsonParser(Google.Protobuf.JsonParser.Settings.Default.WithIgnoreUnknownFields(true)).Parse<RoomFrame>(line);
            messages.AddRange(frame.Messages);
        }

        // Both may share one frame (gifts come first in a frame, then chat).
        var chat = messages.Single(m => m.Kind == "chat");
        var gift = messages.Single(m => m.Kind == "gift");
        Assert.Equal(("666", 0L, fan), (chat.Text, chat.Seq, chat.SenderId));
        Assert.Equal(("rocket", 2, 1L, fan), (gift.GiftId, gift.GiftCount, gift.Seq, gift.SenderId));
    }
}
