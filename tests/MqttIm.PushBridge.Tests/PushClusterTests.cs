using MqttIm.Testing;

namespace MqttIm.PushBridge.Tests;

/// <summary>
/// The push bridge on two broker nodes (Redis + PostgreSQL): a job has one scheduler, the node that accepted it, so it is
/// sent once cluster-wide; a node killed with jobs pending has them sent by the survivor (once, also after it restarts);
/// a device coming online on the other node cancels the pending push.
/// </summary>
[Collection(PushBrokerCollection.Name)]
public sealed class PushClusterTests(PushClusterFixture fixture) : IClassFixture<PushClusterFixture>
{
    private FakeVendorServer Vendors => fixture.Vendors;

    private BrokerProcess Node(int index) => fixture.Cluster.Nodes[index];

    [Fact]
    public async Task JobsAcceptedOnEitherNode_AreSentOnce_AndAKilledNodesPendingJobsAreSentByTheSurvivor_OnceAlsoAfterItsRestart()
    {
        var (alice, bob, kim, lee) = (TestUsers.Unique("al"), TestUsers.Unique("bo"), TestUsers.Unique("kim"), TestUsers.Unique("lee"));
        var (kimToken, leeToken) = ("k" + Guid.NewGuid().ToString("N"), "l" + Guid.NewGuid().ToString("N"));
        await Node(0).RegisterAsync(kim, "apns", VendorSetup.Bundle, kimToken);
        await Node(1).RegisterAsync(lee, "fcm", VendorSetup.FcmApp, leeToken, environment: "production");
        var victim = Node(0);
        await using (var alicePhone = await TestDevice.ConnectAsync(victim, alice))
        await using (var bobPhone = await TestDevice.ConnectAsync(Node(1), bob))
        {
            Assert.True((await alicePhone.SendAsync(kim, "before the crash")).IsSuccess);
            Assert.True((await bobPhone.SendAsync(lee, "from the other node")).IsSuccess);
            await Node(1).WaitForAdminAsync("/api/admin/push/pending", j => j.EnumerateArray().Count(p => p.GetProperty("userId").GetString() is var u && (u == kim || u == lee)) == 2);
        }

        await victim.KillAsync();
        try
        {
            Assert.Empty(Vendors.RequestsFor(kimToken)); // due only after the merge window: the survivor sends it
            var kimPush = Assert.Single(await Vendors.WaitForAsync(kimToken, timeout: TimeSpan.FromSeconds(40)));
            Assert.Equal("before the crash", kimPush.Json!["aps"]!["alert"]!["body"]!.GetValue<string>());
            Assert.Single(await Vendors.WaitForAsync(leeToken, timeout: TimeSpan.FromSeconds(40)));
            await Node(1).WaitForAdminAsync("/api/admin/push/pending", j => !j.EnumerateArray().Any(p => p.GetProperty("userId").GetString() is var u && (u == kim || u == lee)));
        }
        finally
        {
            await victim.RestartAsync();
            await fixture.Cluster.WaitForNodesAsync(2, TimeSpan.FromSeconds(60));
        }

        // The restarted node did not send kim's adopted job again: the next push is the second request.
        await using var again = await TestDevice.ConnectAsync(victim, alice);
        Assert.True((await again.SendAsync(kim, "after")).IsSuccess);
        var both = await Vendors.WaitForAsync(kimToken, count: 2, timeout: TimeSpan.FromSeconds(40));
        Assert.Equal(["before the crash", "after"], both.Select(r => r.Json!["aps"]!["alert"]!["body"]!.GetValue<string>()));
        Assert.Single(Vendors.RequestsFor(leeToken));
    }

    [Fact]
    public async Task DeviceComingOnlineOnTheOtherNode_CancelsThePushPendingOnTheFirst()
    {
        var (alice, kim) = (TestUsers.Unique("al"), TestUsers.Unique("kim"));
        var kimToken = "k" + Guid.NewGuid().ToString("N");
        await Node(1).RegisterAsync(kim, "apns", VendorSetup.Bundle, kimToken);
        await using var alicePhone = await TestDevice.ConnectAsync(Node(0), alice);
        Assert.True((await alicePhone.SendAsync(kim, "you will read this live")).IsSuccess);
        await Node(0).WaitForAdminAsync("/api/admin/push/pending", j => j.EnumerateArray().Any(p => p.GetProperty("userId").GetString() == kim));

        await using var kimPhone = await TestDevice.ConnectAsync(Node(1), kim);
        await Node(0).WaitForAdminAsync("/api/admin/push/pending", j => !j.EnumerateArray().Any(p => p.GetProperty("userId").GetString() == kim));
        Assert.Contains("cancelled_online", await Node(1).OutcomesAsync(kim));
        Assert.Empty(Vendors.RequestsFor(kimToken));
    }
}

/// <summary>A fake vendor server and two broker nodes configured to push through it (merge window long enough to kill a node first).</summary>
public sealed class PushClusterFixture : IAsyncLifetime
{
    public FakeVendorServer Vendors { get; private set; } = null!;

    public VendorSetup Setup { get; private set; } = null!;

    public BrokerCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Vendors = await FakeVendorServer.StartAsync();
        Setup = new VendorSetup(Vendors);
        Cluster = new VendorCluster([.. Setup.BrokerArgs(), "--Push:MergeWindow=00:00:08", "--Push:RetryBaseDelay=00:00:00.200"]);
        await Cluster.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Setup.Dispose();
        await Vendors.DisposeAsync();
    }

    private sealed class VendorCluster(string[] args) : BrokerCluster(2)
    {
        protected override Task<string[]> ExtraNodeArgsAsync() => Task.FromResult(args);
    }
}
