using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Rooms;

/// <summary>One broker for the room tests (rooms are unique per test).</summary>
public sealed class RoomBrokerFixture() : BrokerFixture("--Rooms:UserMessagesPerSecond=10", "--Rooms:UserBurst=20");

/// <summary>Live rooms over real sockets: joins, counts, ACL, moderation, classes and sampling, replay.</summary>
public sealed class RoomTests(RoomBrokerFixture fixture) : IClassFixture<RoomBrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    public static TheoryData<MqttProtocolVersion> Versions => new() { MqttProtocolVersion.V311, MqttProtocolVersion.V500 };

    private async Task<string> NewRoomAsync(bool isPublic = true, int maxMessagesPerSecond = 0)
    {
        var roomId = TestUsers.Unique("room");
        await RoomAdminApi.CreateAsync(_broker, roomId, isPublic, maxMessagesPerSecond);
        return roomId;
    }

    [Fact]
    public async Task Viewers_JoinAndLeave_CountsAndJoinEventsAreRight()
    {
        var roomId = await NewRoomAsync();
        await using var first = await RoomViewerProbe.JoinAsync(_broker, roomId);
        var second = await RoomViewerProbe.JoinAsync(_broker, roomId, version: MqttProtocolVersion.V311);
        var third = await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true);
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 3);

        // Join news reaches the viewers in rate-limited frames carrying the count.
        var frames = await first.CollectAsync(f => f.Sum(x => x.JoinedCount) >= 3 && f[^1].Viewers == 3, TimeSpan.FromSeconds(10));
        Assert.Contains(second.Device.UserId, frames.SelectMany(f => f.Joined));
        Assert.Contains(third.Device.UserId, frames.SelectMany(f => f.Joined));

        await second.Device.Client.UnsubscribeAsync($"room/{roomId}");
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 2);
        await second.Device.ReceivedBeforeChatMarkerAsync(first.Device); // drops the frames handed over before the unsubscribe

        await third.DisposeAsync(); // disconnect = leave
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 1);
        frames = await first.CollectAsync(f => f.Sum(x => x.LeftCount) >= 2 && f[^1].Viewers == 1, TimeSpan.FromSeconds(10));
        Assert.Contains(third.Device.UserId, frames.SelectMany(f => f.Left));

        // An unsubscribed viewer gets nothing more.
        await RoomAdminApi.SendAsync(_broker, roomId, new { kind = "system", text = "after leave" });
        await first.CollectAsync(f => RoomViewerProbe.Messages(f, "system").Any(), TimeSpan.FromSeconds(10));
        var afterLeave = await second.Device.ReceivedBeforeChatMarkerAsync(first.Device); // a barrier behind the system message
        Assert.DoesNotContain(afterLeave, m => m.Topic == $"room/{roomId}");
        await second.DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Join_Banned_PrivateWithoutClaim_Unknown_Wildcard_AreRefused(MqttProtocolVersion version)
    {
        var roomId = await NewRoomAsync();
        var privateRoom = await NewRoomAsync(isPublic: false);
        var banned = TestUsers.Unique("banned");
        await RoomAdminApi.PostAsync(_broker, $"/api/admin/rooms/{roomId}/bans", new { userIds = new[] { banned } });
        var expected = version == MqttProtocolVersion.V500 ? MqttClientSubscribeResultCode.NotAuthorized : MqttClientSubscribeResultCode.UnspecifiedError;

        await using var bannedDevice = await TestDevice.ConnectAsync(_broker, banned, version: version);
        Assert.Equal(expected, (await bannedDevice.Client.SubscribeAsync($"room/{roomId}")).Items.Single().ResultCode);

        await using var other = await TestDevice.ConnectAsync(_broker, TestUsers.Unique("other"), version: version);
        Assert.Equal(expected, (await other.Client.SubscribeAsync($"room/{privateRoom}")).Items.Single().ResultCode);
        Assert.Equal(expected, (await other.Client.SubscribeAsync($"room/{TestUsers.Unique("nosuch")}")).Items.Single().ResultCode);
        Assert.Equal(expected, (await other.Client.SubscribeAsync("room/+")).Items.Single().ResultCode);
        Assert.Equal(expected, (await other.Client.SubscribeAsync($"room/{roomId}/x")).Items.Single().ResultCode);
        // Allowed: the public room.
        Assert.True((await other.Client.SubscribeAsync($"room/{roomId}")).Items.Single().ResultCode <= MqttClientSubscribeResultCode.GrantedQoS2);

        // A token whose `rooms` claim names the private room lets its holder in.
        var granted = TestUsers.Unique("vip");
        var token = _broker.Issuer.Issue(granted, claims: new Dictionary<string, object> { ["rooms"] = new[] { privateRoom } }).Token;
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(TestDevice.Options(_broker, granted, token, granted + "-dev", version).Build());
        Assert.True((await client.SubscribeAsync($"room/{privateRoom}")).Items.Single().ResultCode <= MqttClientSubscribeResultCode.GrantedQoS2);
        await client.DisconnectAsync();
    }

    [Fact]
    public async Task Ban_RemovesAJoinedViewer_AndItsSendsAreRefused()
    {
        var roomId = await NewRoomAsync();
        await using var watcher = await RoomViewerProbe.JoinAsync(_broker, roomId);
        await using var troll = await RoomViewerProbe.JoinAsync(_broker, roomId);
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 2);

        await RoomAdminApi.PostAsync(_broker, $"/api/admin/rooms/{roomId}/bans", new { userIds = new[] { troll.Device.UserId } });

        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 1);
        var refused = await troll.SendAsync(new RoomSend { Text = "still here?" });
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        Assert.Equal("banned", refused.Property("code"));
    }

    [Fact]
    public async Task Muted_CannotSend_MuteAll_SlowMode_AndOthersStillCan()
    {
        var roomId = await NewRoomAsync();
        await using var viewer = await RoomViewerProbe.JoinAsync(_broker, roomId);
        await using var muted = await RoomViewerProbe.JoinAsync(_broker, roomId);
        await using var speaker = await RoomViewerProbe.JoinAsync(_broker, roomId);
        await RoomAdminApi.PostAsync(_broker, $"/api/admin/rooms/{roomId}/mutes", new { userIds = new[] { muted.Device.UserId }, muteSeconds = 600 });

        var refused = await muted.SendAsync(new RoomSend { Text = "let me talk" });
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        Assert.Equal("muted", refused.Property("code"));
        Assert.Equal(MqttClientPublishReasonCode.Success, (await speaker.SendAsync(new RoomSend { Text = "hello room" })).ReasonCode);
        var frames = await viewer.CollectAsync(f => RoomViewerProbe.Messages(f, "chat").Any(), TimeSpan.FromSeconds(10));
        var chat = RoomViewerProbe.Messages(frames, "chat").Single();
        Assert.Equal(("hello room", speaker.Device.UserId), (chat.Text, chat.SenderId));

        await RoomAdminApi.PostAsync(_broker, $"/api/admin/rooms/{roomId}/settings", new { allMuted = true });
        Assert.Equal("muted", (await speaker.SendAsync(new RoomSend { Text = "x" })).Property("code"));

        await RoomAdminApi.PostAsync(_broker, $"/api/admin/rooms/{roomId}/settings", new { allMuted = false, slowModeSeconds = 60 });
        Assert.Equal(MqttClientPublishReasonCode.Success, (await viewer.SendAsync(new RoomSend { Text = "one" })).ReasonCode);
        var slow = await viewer.SendAsync(new RoomSend { Text = "two" });
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, slow.ReasonCode);
        Assert.Equal("slow_mode", slow.Property("code"));

        // Unmuted: may talk again (slow mode still counts per user).
        await RoomAdminApi.PostAsync(_broker, $"/api/admin/rooms/{roomId}/mutes", new { userIds = new[] { muted.Device.UserId }, muteSeconds = 0 });
        Assert.Equal(MqttClientPublishReasonCode.Success, (await muted.SendAsync(new RoomSend { Text = "thanks" })).ReasonCode);
        // Viewers cannot send system messages; back-ends can.
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await speaker.SendAsync(new RoomSend { Kind = "system", Text = "fake" })).ReasonCode);
    }

    [Fact]
    public async Task PerUserRateLimit_RefusesChatOverTheBucket()
    {
        var roomId = await NewRoomAsync();
        await using var sender = await RoomViewerProbe.JoinAsync(_broker, roomId);
        var codes = new List<MqttClientPublishReasonCode>();
        for (var i = 0; i < 40; i++)
        {
            codes.Add((await sender.SendAsync(new RoomSend { Text = $"spam {i}" })).ReasonCode);
        }

        Assert.Contains(MqttClientPublishReasonCode.QuotaExceeded, codes);
        Assert.True(codes.Count(c => c == MqttClientPublishReasonCode.Success) >= 20, string.Join(",", codes));
        // Gifts are not chat: never rate limited per user.
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(MqttClientPublishReasonCode.Success, (await sender.SendAsync(new RoomSend { Kind = "gift", GiftId = "rose" })).ReasonCode);
        }
    }

    [Fact]
    public async Task Burst_OverTheRate_ChatIsSampled_GiftsAndSystemAllArriveInSeqOrder_AtEveryViewer()
    {
        var roomId = await NewRoomAsync(maxMessagesPerSecond: 40);
        var viewers = new[]
        {
            await RoomViewerProbe.JoinAsync(_broker, roomId),
            await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true),
            await RoomViewerProbe.JoinAsync(_broker, roomId, version: MqttProtocolVersion.V311),
        };
        var senders = new List<RoomViewerProbe>();
        for (var i = 0; i < 20; i++)
        {
            senders.Add(await RoomViewerProbe.JoinAsync(_broker, roomId));
        }

        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 23);
        const int chatsPerSender = 15;
        const int giftsPerSender = 3;
        // Every sender interleaves chat and gifts as fast as PUBACKs come; one system message from the back-end in the middle.
        var sends = senders.Select(async (s, n) =>
        {
            for (var i = 0; i < chatsPerSender; i++)
            {
                Assert.Equal(MqttClientPublishReasonCode.Success, (await s.SendAsync(new RoomSend { Text = $"danmaku {n}-{i}" })).ReasonCode);
                if (i % 5 == 0)
                {
                    Assert.Equal(MqttClientPublishReasonCode.Success, (await s.SendAsync(new RoomSend { Kind = "gift", GiftId = "rocket", GiftCount = 1, ClientMsgId = $"g{n}-{i}" })).ReasonCode);
                }
            }
        }).ToList();
        sends.Add(RoomAdminApi.SendAsync(_broker, roomId, new { kind = "system", text = "the host is back" }));
        await Task.WhenAll(sends);
        const int totalChat = 20 * chatsPerSender;
        const int totalReliable = (20 * giftsPerSender) + 1;

        foreach (var viewer in viewers)
        {
            // Frames until every chat message is accounted for (delivered or counted as sampled out) and every gift is in.
            var frames = await viewer.CollectAsync(f =>
                f.Sum(x => x.SampledOut + x.Messages.Count(m => m.Kind == "chat")) >= totalChat
                && f.Sum(x => x.Messages.Count(m => m.Seq > 0)) >= totalReliable, TimeSpan.FromSeconds(30));
            var reliable = frames.SelectMany(f => f.Messages).Where(m => m.Seq > 0).ToList();
            Assert.Equal(totalReliable, reliable.Count);
            Assert.Equal(Enumerable.Range(1, totalReliable).Select(i => (long)i), reliable.Select(m => m.Seq)); // all, contiguous, in order
            Assert.Single(reliable, m => m.Kind == "system");
            var delivered = frames.Sum(f => f.Messages.Count(m => m.Kind == "chat"));
            var sampledOut = frames.Sum(f => f.SampledOut);
            Assert.Equal(totalChat, delivered + sampledOut);
            Assert.True(sampledOut > 0, $"nothing was sampled out of {totalChat} chats ({delivered} delivered)");
            // No frame carries more chat than a window's share of the room's rate allows (40/s, 25% kept for gifts, 100 ms windows, ≤ 1 s of credit).
            Assert.All(frames, f => Assert.True(f.Messages.Count(m => m.Kind == "chat") <= 30, $"frame with {f.Messages.Count} messages"));
            Assert.True(frames.Count < (totalChat + totalReliable) / 2, $"{frames.Count} frames for {totalChat + totalReliable} messages: not merged");
        }

        foreach (var probe in viewers.Concat(senders))
        {
            await probe.DisposeAsync();
        }
    }

    [Fact]
    public async Task Likes_AreAggregatedIntoCounts()
    {
        var roomId = await NewRoomAsync();
        await using var viewer = await RoomViewerProbe.JoinAsync(_broker, roomId);
        await using var fan = await RoomViewerProbe.JoinAsync(_broker, roomId);
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(MqttClientPublishReasonCode.Success, (await fan.SendAsync(new RoomSend { Kind = "like", LikeCount = 2 })).ReasonCode);
        }

        var frames = await viewer.CollectAsync(f => f.Sum(x => x.Likes) >= 60, TimeSpan.FromSeconds(10));
        Assert.Equal(60, frames.Sum(f => f.Likes));
        Assert.Equal(60, frames.Max(f => f.LikesTotal));
        Assert.True(frames.Count(f => f.Likes > 0) < 30, "likes were not aggregated");
        Assert.DoesNotContain(frames.SelectMany(f => f.Messages), m => m.Kind == "like");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task ReconnectingViewer_ReplaysTheGiftsItMissed(MqttProtocolVersion version)
    {
        var roomId = await NewRoomAsync();
        await using var host = await RoomViewerProbe.JoinAsync(_broker, roomId);
        var userId = TestUsers.Unique("fan");
        var viewer = await RoomViewerProbe.JoinAsync(_broker, roomId, userId, version);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, await RoomAdminApi.SendAsync(_broker, roomId, new { kind = "gift", giftId = "rose", senderId = "sponsor" }));
        }

        var seen = await viewer.CollectAsync(f => RoomViewerProbe.Messages(f, "gift").Count() >= 3, TimeSpan.FromSeconds(10));
        var lastSeq = RoomViewerProbe.Messages(seen, "gift").Max(m => m.Seq);
        await viewer.DisposeAsync();

        // While it is away: gifts from a viewer over MQTT (PUBACK carries the seq) and a system message from the back-end.
        for (var i = 0; i < 4; i++)
        {
            var ack = await host.SendAsync(new RoomSend { Kind = "gift", GiftId = "car", GiftCount = 2, ClientMsgId = $"c{i}" });
            Assert.Equal(MqttClientPublishReasonCode.Success, ack.ReasonCode);
            Assert.Equal((4 + i).ToString(), ack.Property("seq"));
        }

        await RoomAdminApi.SendAsync(_broker, roomId, new { kind = "system", text = "ends in 5 min" });
        await RoomAdminApi.SendAsync(_broker, roomId, new { kind = "chat", text = "chat is not replayed" });

        await using var back = await RoomViewerProbe.JoinAsync(_broker, roomId, userId, version);
        var request = new RoomReplayRequest { RequestId = "r1", RoomId = roomId, AfterSeq = lastSeq };
        var response = await back.Device.RpcAsync("room/replay", request, request.RequestId);
        Assert.Equal(RpcResponse.ResultOneofCase.RoomReplay, response.ResultCase);
        Assert.Equal([4L, 5, 6, 7, 8], response.RoomReplay.Messages.Select(m => m.Seq));
        Assert.Equal(["gift", "gift", "gift", "gift", "system"], response.RoomReplay.Messages.Select(m => m.Kind));
        Assert.Equal(host.Device.UserId, response.RoomReplay.Messages[0].SenderId);
        Assert.Equal(8, response.RoomReplay.LastSeq);
        Assert.False(response.RoomReplay.HasMore);

        // Paged, and refused for a room the caller may not view.
        var page = await back.Device.RpcAsync("room/replay", new RoomReplayRequest { RequestId = "r2", RoomId = roomId, AfterSeq = 0, Limit = 2 }, "r2");
        Assert.Equal([1L, 2], page.RoomReplay.Messages.Select(m => m.Seq));
        Assert.True(page.RoomReplay.HasMore);
        var privateRoom = await NewRoomAsync(isPublic: false);
        var denied = await back.Device.RpcAsync("room/replay", new RoomReplayRequest { RequestId = "r3", RoomId = privateRoom }, "r3");
        Assert.Equal("not_authorized", denied.Error.Code);
    }

    [Fact]
    public async Task Close_EndsTheRoom_WithAClosedFrame()
    {
        var roomId = await NewRoomAsync();
        await using var viewer = await RoomViewerProbe.JoinAsync(_broker, roomId);
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 1);
        using var http = _broker.Http();
        Assert.True((await http.DeleteAsync($"/api/admin/rooms/{roomId}")).IsSuccessStatusCode);

        var frames = await viewer.CollectAsync(f => f.Any(x => x.Closed), TimeSpan.FromSeconds(10));
        Assert.True(frames[^1].Closed);
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 0);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, (await viewer.Device.Client.SubscribeAsync($"room/{roomId}")).Items.Single().ResultCode);
        var conflict = await RoomAdminApi.RawPostAsync(_broker, "/api/admin/rooms", new { roomId });
        Assert.Equal(System.Net.HttpStatusCode.Conflict, conflict.StatusCode);
    }
}
