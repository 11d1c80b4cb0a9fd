using MqttIm.PushBridge.Outcomes;
using MqttIm.PushBridge.Scheduling;
using MqttIm.PushBridge.Tokens;
using MqttIm.PushBridge.Vendors;

namespace MqttIm.PushBridge.Tests;

/// <summary>When and what the bridge pushes: P0, merging, privacy, quiet hours, rate limit, collapse ids, badge, cancellation, restart.</summary>
public sealed class SchedulingPolicyTests
{
    private static readonly DateTimeOffset Noon = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task P0_IsSentAtOnce_LowerPrioritiesWaitForTheMergeWindow()
    {
        await using var h = new PolicyHarness(Noon);
        await h.RegisterAsync("bob", "tb");

        await h.AcceptAsync(h.Message("bob", text: "chat", priority: 1));
        await h.AcceptAsync(h.Message("bob", from: "system", text: "server down", conversation: "notify:bob", priority: 0));
        await h.AdvanceAsync(TimeSpan.Zero);

        var urgent = Assert.Single(h.Apns.SentTo("tb"));
        Assert.Equal(("server down", 0), (urgent.Notification.Body, urgent.Notification.Priority));
        await h.AdvanceAsync(TimeSpan.FromSeconds(2.9));
        Assert.Single(h.Apns.SentTo("tb"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(0.1));
        Assert.Equal("chat", h.Apns.SentTo("tb")[1].Notification.Body);
    }

    [Fact]
    public async Task MessagesWithinTheWindow_AreMergedIntoOneNotification()
    {
        await using var h = new PolicyHarness(Noon);
        await h.RegisterAsync("bob", "tb");

        var first = await h.AcceptAsync(h.Message("bob", text: "one"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        await h.AcceptAsync(h.Message("bob", text: "two"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        var third = await h.AcceptAsync(h.Message("bob", text: "three"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(0.9));
        Assert.Empty(h.Apns.Sent);
        await h.AdvanceAsync(TimeSpan.FromSeconds(0.1));

        var merged = Assert.Single(h.Apns.SentTo("tb")).Notification;
        Assert.Equal(("alice", "3 new messages from alice", "3"), (merged.Title, merged.Body, merged.Data["count"]));
        Assert.Equal(CollapseIds.ForConversation(first.ConversationId), merged.CollapseId);
        var outcome = Assert.Single(await h.Outcomes.GetForMessageAsync(third.MessageId, default));
        Assert.Equal((PushResults.Delivered, 3), (outcome.Result, outcome.MessageIds.Count));
    }

    [Fact]
    public async Task MergingAcrossConversations_NamesTheSenders_AndUsesTheInboxCollapseId()
    {
        await using var h = new PolicyHarness(Noon);
        await h.RegisterAsync("bob", "tb");

        await h.AcceptAsync(h.Message("bob", from: "alice"));
        await h.AcceptAsync(h.Message("bob", from: "carol"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(3));

        var merged = Assert.Single(h.Apns.Sent).Notification;
        Assert.Equal(("New messages", "2 new messages from alice and carol", CollapseIds.Merged), (merged.Title, merged.Body, merged.CollapseId));
    }

    [Fact]
    public async Task PrivacyMode_ShowsNeitherSenderNorContent_OnThatDeviceOnly()
    {
        await using var h = new PolicyHarness(Noon);
        await h.RegisterAsync("bob", "private", device: "phone", privacy: true);
        await h.RegisterAsync("bob", "open", device: "tablet");

        await h.AcceptAsync(h.Message("bob", from: "alice", text: "the secret plan"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(3));

        var hidden = Assert.Single(h.Apns.SentTo("private")).Notification;
        Assert.Equal(("New message", "You have a new message"), (hidden.Title, hidden.Body));
        Assert.DoesNotContain("alice", hidden.Title + hidden.Body + string.Join(",", hidden.Data.Values.Where(v => !v.StartsWith("c2c:", StringComparison.Ordinal))));
        Assert.Equal("the secret plan", Assert.Single(h.Apns.SentTo("open")).Notification.Body);
    }

    [Fact]
    public async Task QuietHours_InTheUsersTimeZone_HoldPushesUntilTheyEnd_P0BreaksThrough()
    {
        // 15:30 UTC is 23:30 in Shanghai (UTC+8): inside 22:00–07:00, which ends at 23:00 UTC.
        await using var h = new PolicyHarness(new DateTimeOffset(2026, 6, 1, 15, 30, 0, TimeSpan.Zero));
        await h.RegisterAsync("bob", "tb");
        await h.Tokens.SetPreferencesAsync(new PushPreferences("bob", 22 * 60, 7 * 60, "Asia/Shanghai"), default);

        await h.AcceptAsync(h.Message("bob", text: "good night"));
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Empty(h.Apns.Sent);
        await h.AcceptAsync(h.Message("bob", from: "system", text: "fire alarm", conversation: "notify:bob", priority: 0));
        await h.AdvanceAsync(TimeSpan.Zero);
        Assert.Equal("fire alarm", Assert.Single(h.Apns.Sent).Notification.Body);

        await h.AdvanceAsync(new DateTimeOffset(2026, 6, 1, 22, 59, 0, TimeSpan.Zero) - h.Time.GetUtcNow());
        Assert.Single(h.Apns.Sent);
        await h.AdvanceAsync(TimeSpan.FromMinutes(1));
        var morning = h.Apns.Sent.Last();
        Assert.Equal(("good night", new DateTimeOffset(2026, 6, 1, 23, 0, 0, TimeSpan.Zero)), (morning.Notification.Body, morning.At));
    }

    [Fact]
    public async Task QuietHours_OutsideThePeriod_ChangeNothing()
    {
        await using var h = new PolicyHarness(new DateTimeOffset(2026, 6, 1, 4, 0, 0, TimeSpan.Zero)); // 12:00 in Shanghai
        await h.RegisterAsync("bob", "tb");
        await h.Tokens.SetPreferencesAsync(new PushPreferences("bob", 22 * 60, 7 * 60, "Asia/Shanghai"), default);

        await h.AcceptAsync(h.Message("bob"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.Single(h.Apns.Sent);
    }

    [Fact]
    public async Task RateLimitPerDevice_PostponesFurtherPushes_WhichKeepMerging_P0IsNotHeld()
    {
        await using var h = new PolicyHarness(Noon, o => (o.RateLimitPerDevice, o.RateLimitWindow) = (2, TimeSpan.FromMinutes(1)));
        await h.RegisterAsync("bob", "tb");

        for (var i = 0; i < 2; i++)
        {
            await h.AcceptAsync(h.Message("bob", text: $"m{i}"));
            await h.AdvanceAsync(TimeSpan.FromSeconds(3));
        }

        Assert.Equal(2, h.Apns.Sent.Count);
        await h.AcceptAsync(h.Message("bob", text: "third"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(3));
        await h.AcceptAsync(h.Message("bob", text: "fourth"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, h.Apns.Sent.Count);
        await h.AcceptAsync(h.Message("bob", from: "system", text: "urgent", conversation: "notify:bob", priority: 0));
        await h.AdvanceAsync(TimeSpan.Zero);
        Assert.Equal("urgent", h.Apns.Sent.Last().Notification.Body);

        await h.AdvanceAsync(Noon.AddSeconds(63) - h.Time.GetUtcNow());
        var released = h.Apns.Sent.Last();
        Assert.Equal((4, "2 new messages from alice", Noon.AddSeconds(63)), (h.Apns.Sent.Count, released.Notification.Body, released.At));
    }

    [Fact]
    public async Task CollapseIds_SameConversationShareOne_OtherConversationsDiffer()
    {
        await using var h = new PolicyHarness(Noon);
        await h.RegisterAsync("bob", "tb");

        foreach (var conversation in new[] { "c2c:alice:bob", "c2c:alice:bob", "group:team" })
        {
            await h.AcceptAsync(h.Message("bob", conversation: conversation));
            await h.AdvanceAsync(TimeSpan.FromSeconds(3));
        }

        var ids = h.Apns.Sent.Select(s => s.Notification.CollapseId).ToList();
        Assert.Equal(3, ids.Count);
        Assert.Equal(ids[0], ids[1]);
        Assert.NotEqual(ids[1], ids[2]);
        Assert.All(ids, id => Assert.True(id.Length <= 64 && !id.Contains("alice", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Badge_IsTheUsersTotalUnread()
    {
        await using var h = new PolicyHarness(Noon) { Badge = 17 };
        await h.RegisterAsync("bob", "tb");

        await h.AcceptAsync(h.Message("bob"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.Equal(17, Assert.Single(h.Apns.Sent).Notification.Badge);
    }

    [Fact]
    public async Task ADeviceComingOnline_CancelsThePendingPush_WithAnOutcome()
    {
        await using var h = new PolicyHarness(Noon);
        await h.RegisterAsync("bob", "tb");

        var message = await h.AcceptAsync(h.Message("bob"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await h.Scheduler.DeviceOnlineAsync("bob", default));
        await h.AdvanceAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(h.Apns.Sent);
        Assert.Empty(await h.Jobs.GetAllAsync(default));
        Assert.Equal(PushResults.CancelledOnline, Assert.Single(await h.Outcomes.GetForMessageAsync(message.MessageId, default)).Result);
    }

    [Fact]
    public async Task UsersWithoutTokens_GetNoJobAtAll()
    {
        await using var h = new PolicyHarness(Noon);

        await h.AcceptAsync(h.Message("nobody"));

        Assert.Equal(0, h.Scheduler.PendingCount);
        Assert.Empty(await h.Jobs.GetAllAsync(default));
    }

    [Fact]
    public async Task PendingJobs_SurviveARestart_AndAreSentOnce()
    {
        await using var h = new PolicyHarness(Noon);
        await h.RegisterAsync("bob", "tb");
        await h.AcceptAsync(h.Message("bob", text: "before the crash"));

        h.Open(); // a new process: new scheduler, same database
        Assert.Equal(1, await h.Scheduler.LoadAsync(default));
        await h.AdvanceAsync(TimeSpan.FromSeconds(3));
        await h.AdvanceAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("before the crash", Assert.Single(h.Apns.Sent).Notification.Body);
        Assert.Empty(await h.Jobs.GetAllAsync(default));
    }

    [Fact]
    public async Task DeadTokens_AreRemoved_NotRetried_AndNeverUsedAgain_TheDeviceFailsOverToItsNextToken()
    {
        await using var h = new PolicyHarness(Noon);
        await h.RegisterAsync("bob", "dead", vendor: PushVendors.Apns, preference: 0);
        await h.RegisterAsync("bob", "backup", vendor: PushVendors.Fcm, preference: 1);
        h.Apns.Script("dead", new VendorReply(VendorReplyKind.TokenGone, "Unregistered"));

        var first = await h.AcceptAsync(h.Message("bob", text: "one"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(3));
        await h.AcceptAsync(h.Message("bob", text: "two"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.Single(h.Apns.SentTo("dead"));
        Assert.Equal(["one", "two"], h.Fcm.SentTo("backup").Select(s => s.Notification.Body));
        Assert.Equal(["backup"], (await h.Tokens.GetForUserAsync("bob", default)).Select(t => t.Token));
        var outcomes = await h.Outcomes.GetForMessageAsync(first.MessageId, default);
        Assert.Equal([(PushResults.TokenRemoved, "dead"), (PushResults.Delivered, "backup")], outcomes.Select(o => (o.Result, o.Token)));
    }

    [Fact]
    public async Task RetryableAnswers_AreRetriedAfterRetryAfter_ThenGiveUpAndFailOver()
    {
        await using var h = new PolicyHarness(Noon, o => o.MaxRetries = 2);
        await h.RegisterAsync("bob", "busy", preference: 0);
        await h.RegisterAsync("bob", "next", vendor: PushVendors.Fcm, preference: 1);
        await h.RegisterAsync("carol", "slow");
        h.Apns.Script("slow", new VendorReply(VendorReplyKind.Retryable, "429", TimeSpan.FromSeconds(5)), new VendorReply(VendorReplyKind.Retryable, "503", TimeSpan.FromSeconds(2)));
        h.Apns.Script("busy", Enumerable.Repeat(new VendorReply(VendorReplyKind.Retryable, "503", TimeSpan.FromSeconds(1)), 3).ToArray());

        var carol = await h.AcceptAsync(h.Message("carol"));
        var bob = await h.AcceptAsync(h.Message("bob"));
        h.Time.Advance(TimeSpan.FromSeconds(3));
        var run = h.Scheduler.RunDueAsync(default);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!run.IsCompleted && DateTime.UtcNow < deadline)
        {
            h.Time.Advance(TimeSpan.FromMilliseconds(250)); // Polly waits on the fake clock
            await Task.Delay(5);
        }

        await run;
        var slow = h.Apns.SentTo("slow").Select(s => s.At).ToList();
        Assert.Equal(3, slow.Count);
        Assert.InRange(slow[1] - slow[0], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5.5));
        Assert.InRange(slow[2] - slow[1], TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2.5));
        Assert.Equal((PushResults.Delivered, 3), Assert.Single(await h.Outcomes.GetForMessageAsync(carol.MessageId, default)) is var c ? (c.Result, c.Attempts) : default);

        Assert.Equal(3, h.Apns.SentTo("busy").Count); // first try + 2 retries
        Assert.Single(h.Fcm.SentTo("next"));
        Assert.Equal([PushResults.Failed, PushResults.Delivered], (await h.Outcomes.GetForMessageAsync(bob.MessageId, default)).Select(o => o.Result));
        Assert.Equal(2, (await h.Tokens.GetForUserAsync("bob", default)).Count); // a busy token is not a dead one
    }

    [Fact]
    public async Task OutcomesAreCountedInMetrics()
    {
        await using var h = new PolicyHarness(Noon);
        await h.RegisterAsync("bob", "tb");
        var before = Diagnostics.PushMetrics.Outcomes.WithLabels(PushVendors.Apns, PushResults.Delivered).Value;

        await h.AcceptAsync(h.Message("bob"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.True(Diagnostics.PushMetrics.Outcomes.WithLabels(PushVendors.Apns, PushResults.Delivered).Value >= before + 1);
    }
}
