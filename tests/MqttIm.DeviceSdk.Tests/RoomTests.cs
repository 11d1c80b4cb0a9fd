using MQTTnet;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>The SDK's room viewer/sender API against the real broker: join, frames as messages, send, refusals, leave, replay.</summary>
public sealed class RoomTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private async Task<string> NewRoomAsync()
    {
        var roomId = BrokerFixture.NewUser("room");
        await fixture.Broker.AdminPostAsync("/api/admin/rooms", new { roomId, title = "sdk" });
        return roomId;
    }

    private static async Task<List<RoomMessage>> TakeAsync(MqttImRoom room, int count, Func<RoomMessage, bool>? match = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var taken = new List<RoomMessage>();
        await foreach (var message in room.ReadMessagesAsync(timeout.Token))
        {
            if (match is null || match(message))
            {
                taken.Add(message);
            }

            if (taken.Count == count)
            {
                break;
            }
        }

        return taken;
    }

    [Fact]
    public async Task JoinSendRead_GiftsCarrySeqs_RefusalsThrow_LeaveCompletes()
    {
        var roomId = await NewRoomAsync();
        var (alice, bob) = (BrokerFixture.NewUser("alice"), BrokerFixture.NewUser("bob"));
        await using var aliceClient = await fixture.ConnectAsync(alice);
        await using var bobClient = await fixture.ConnectAsync(bob, o => o.ProtocolVersion = MQTTnet.Formatter.MqttProtocolVersion.V311);
        var aliceRoom = await aliceClient.Rooms.JoinAsync(roomId);
        var bobRoom = await bobClient.Rooms.JoinAsync(roomId);

        await aliceRoom.SendChatAsync("hello room");
        Assert.Equal(1, await aliceRoom.SendGiftAsync("rose", 3));
        Assert.Equal(2, await aliceRoom.SendGiftAsync("car"));
        await aliceRoom.LikeAsync(5);

        foreach (var room in new[] { aliceRoom, bobRoom })
        {
            var messages = await TakeAsync(room, 3);
            Assert.Equal(("chat", "hello room", alice), (messages[0].Kind, messages[0].Text, messages[0].SenderId));
            Assert.Equal([(1L, "rose", 3), (2L, "car", 1)], messages.Skip(1).Select(m => (m.Seq, m.GiftId, m.GiftCount)));
            Assert.Equal(2, room.LastSeq);
        }

        await fixture.Broker.AdminPostAsync($"/api/admin/rooms/{roomId}/mutes", new { userIds = new[] { alice }, muteSeconds = 60 });
        var refused = await Assert.ThrowsAsync<MqttImSendException>(() => aliceRoom.SendChatAsync("muted now"));
        Assert.Equal((MqttClientPublishReasonCode.NotAuthorized, "muted"), (refused.ReasonCode, refused.Code));

        await bobRoom.LeaveAsync();
        await foreach (var _ in bobRoom.ReadMessagesAsync())
        {
            // drains what came before the leave; the stream then completes
        }

        await Assert.ThrowsAsync<MqttImRpcException>(() => bobClient.Rooms.JoinAsync(BrokerFixture.NewUser("nosuch")));
    }

    [Fact]
    public async Task RejoiningWithTheLastSeq_ReplaysMissedGiftsInOrder_ThenLiveOnes()
    {
        var roomId = await NewRoomAsync();
        var (host, fan) = (BrokerFixture.NewUser("host"), BrokerFixture.NewUser("fan"));
        await using var hostClient = await fixture.ConnectAsync(host);
        var hostRoom = await hostClient.Rooms.JoinAsync(roomId);
        long saved;
        await using (var fanClient = await fixture.ConnectAsync(fan))
        {
            var fanRoom = await fanClient.Rooms.JoinAsync(roomId);
            await hostRoom.SendGiftAsync("rose");
            Assert.Equal(1, (await TakeAsync(fanRoom, 1)).Single().Seq);
            saved = fanRoom.LastSeq;
        }

        for (var i = 0; i < 3; i++)
        {
            await hostRoom.SendGiftAsync("rocket");
        }

        await using var again = await fixture.ConnectAsync(fan);
        var resumed = await again.Rooms.JoinAsync(roomId, afterSeq: saved);
        await hostRoom.SendGiftAsync("castle");
        var messages = await TakeAsync(resumed, 4);
        Assert.Equal([2L, 3, 4, 5], messages.Select(m => m.Seq));
        Assert.Equal("castle", messages[^1].GiftId);
        Assert.Equal([1L, 2, 3, 4, 5], (await resumed.ReplayAsync(0)).Select(m => m.Seq));
    }
}
