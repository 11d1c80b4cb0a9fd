using MQTTnet;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>Two nodes with a per-user publish budget (the per-connection limit off, so only the user budget refuses).</summary>
public sealed class UserRateLimitedCluster() : BrokerCluster(2)
{
    public const int UserBurst = 10;

    // A refill of one publish per 1000 s: nothing refills while the test runs, however slow the machine.
    protected override Task<string[]> ExtraNodeArgsAsync() =>
        Task.FromResult<string[]>(["--Moderation:UserPublishesPerSecond=0.001", $"--Moderation:UserPublishBurst={UserBurst}"]);
}

/// <summary>
/// The per-user publish budget holds across nodes (issue 9 item 2): a user with devices on two nodes gets one budget in
/// all, kept in Redis, as with two devices on one node.
/// </summary>
[Collection("Cluster")]
public sealed class ClusterRateLimitTests(UserRateLimitedCluster cluster) : IClassFixture<UserRateLimitedCluster>
{
    [Fact]
    public async Task UserWithDevicesOnTwoNodes_HasOneBudget_BothNodesRefuseOnceItIsSpent_OtherUsersUnaffected()
    {
        var (alice, bob) = (TestUsers.Unique("ra"), TestUsers.Unique("rb"));
        await using var aliceOnA = await TestDevice.ConnectAsync(cluster.Nodes[0], alice);
        await using var aliceOnB = await TestDevice.ConnectAsync(cluster.Nodes[1], alice);
        await using var bobOnB = await TestDevice.ConnectAsync(cluster.Nodes[1], bob);

        // Six from node A and four from node B spend the budget of ten.
        const int onA = 6;
        for (var i = 0; i < UserRateLimitedCluster.UserBurst; i++)
        {
            var sender = i < onA ? aliceOnA : aliceOnB;
            var sent = await sender.SendAsync(bob, $"m{i}", $"rl-{i}");
            Assert.True(sent.IsSuccess, $"publish {i}: {sent.ReasonCode} {sent.ReasonString}");
        }

        // The eleventh is refused on either node: QuotaExceeded, and a SendError on the sender's inbox.
        var refusedOnB = await aliceOnB.SendAsync(bob, "over on B", "rl-over-b");
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, refusedOnB.ReasonCode);
        Assert.Contains("user publish rate limit", refusedOnB.ReasonString);
        var error = await aliceOnB.NextEventAsync(e => e.EventCase == InboxEvent.EventOneofCase.SendError);
        Assert.Equal("rate_limited", error.SendError.Code);
        var refusedOnA = await aliceOnA.SendAsync(bob, "over on A", "rl-over-a");
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, refusedOnA.ReasonCode);

        // Bob has a budget of his own.
        var reply = await bobOnB.SendAsync(alice, "bob is fine", "rl-bob");
        Assert.True(reply.IsSuccess, $"{reply.ReasonCode} {reply.ReasonString}");

        // Exactly the accepted ten reached Bob, in order.
        var received = new List<string>();
        for (var i = 0; i < UserRateLimitedCluster.UserBurst; i++)
        {
            received.Add((await bobOnB.NextChatMessageAsync()).Text);
        }

        Assert.Equal(Enumerable.Range(0, UserRateLimitedCluster.UserBurst).Select(i => $"m{i}"), received);
        var synced = await bobOnB.SyncAllAsync();
        Assert.Equal(UserRateLimitedCluster.UserBurst + 1, synced[TestUsers.C2c(alice, bob)].Count);
    }
}
