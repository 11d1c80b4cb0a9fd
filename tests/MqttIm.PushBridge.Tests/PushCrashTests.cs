using MqttIm.Testing;

namespace MqttIm.PushBridge.Tests;

/// <summary>Pending push jobs survive <c>kill -9</c> of the broker: sent after the restart, once.</summary>
[Collection(PushBrokerCollection.Name)]
public sealed class PushCrashTests(FakeVendorFixture vendors) : IClassFixture<FakeVendorFixture>
{
    [Fact]
    public async Task JobsPendingAtKill9_AreSentAfterRestart_Once()
    {
        await using var broker = await PushBrokerFixture.StartBrokerAsync(vendors.Setup);
        var (alice, kim, lee) = (TestUsers.Unique("al"), TestUsers.Unique("kim"), TestUsers.Unique("lee"));
        var (kimToken, leeToken) = ("k" + Guid.NewGuid().ToString("N"), "l" + Guid.NewGuid().ToString("N"));
        await broker.RegisterAsync(kim, "apns", VendorSetup.Bundle, kimToken);
        await broker.RegisterAsync(lee, "fcm", VendorSetup.FcmApp, leeToken, environment: "production");
        await using (var alicePhone = await TestDevice.ConnectAsync(broker, alice))
        {
            await alicePhone.SendAsync(kim, "before the crash");
            await alicePhone.SendAsync(lee, "me too");
            await broker.WaitForAdminAsync("/api/admin/push/pending", j => j.EnumerateArray().Count(p => p.GetProperty("userId").GetString() is var u && (u == kim || u == lee)) == 2);
        }

        await broker.KillAsync();
        Assert.Empty(vendors.Server.RequestsFor(kimToken));
        await broker.RestartAsync();

        var kimPush = Assert.Single(await vendors.Server.WaitForAsync(kimToken, timeout: TimeSpan.FromSeconds(30)));
        Assert.Equal("before the crash", kimPush.Json!["aps"]!["alert"]!["body"]!.GetValue<string>());
        Assert.Single(await vendors.Server.WaitForAsync(leeToken, timeout: TimeSpan.FromSeconds(30)));
        await broker.WaitForAdminAsync("/api/admin/push/pending", j => !j.EnumerateArray().Any(p => p.GetProperty("userId").GetString() == kim));

        // A later push to kim arrives as the second request: the restored job was not sent twice.
        await using var again = await TestDevice.ConnectAsync(broker, alice);
        await again.SendAsync(kim, "after");
        var both = await vendors.Server.WaitForAsync(kimToken, count: 2);
        Assert.Equal(["before the crash", "after"], both.Select(r => r.Json!["aps"]!["alert"]!["body"]!.GetValue<string>()));
    }
}
