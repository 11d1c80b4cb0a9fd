using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

public sealed class NotificationTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    [Fact]
    public async Task HttpNotification_ReachesOnlineUser_AndIsInAnOfflineUsersSync()
    {
        var (online, offline) = (TestUsers.Unique("on"), TestUsers.Unique("off"));
        await using var o = await TestDevice.ConnectAsync(_broker, online);

        var answer = await _broker.AdminPostAsync("/api/admin/notifications", new
        {
            userIds = new[] { online, offline },
            priority = 0,
            type = "todo_reminder",
            title = "Expense report",
            text = "Approve 3 reports by 17:00",
            data = new Dictionary<string, string> { ["link"] = "app://todo/42" },
        });
        Assert.Equal(2, answer.GetProperty("notifications").GetArrayLength());

        var live = await o.NextChatMessageAsync();
        Assert.Equal((MessageKind.Notification, 0, "todo_reminder", "Expense report"), (live.Kind, live.Priority, live.NotificationType, live.Title));
        Assert.Equal(($"notify:{online}", 1L, "app://todo/42"), (live.ConversationId, live.Seq, live.Ext["link"]));

        await using var later = await TestDevice.ConnectAsync(_broker, offline);
        var synced = Assert.Single((await later.SyncAllAsync())[$"notify:{offline}"]);
        Assert.Equal("Approve 3 reports by 17:00", synced.Text);
    }

    [Fact]
    public async Task HttpNotification_ToAGroup_And_BadRequests()
    {
        var (owner, member) = (TestUsers.Unique("own"), TestUsers.Unique("mem"));
        var group = await _broker.AdminPostAsync("/api/admin/groups", new { name = "n", ownerId = owner, memberIds = new[] { member } });
        await using var m = await TestDevice.ConnectAsync(_broker, member);

        await _broker.AdminPostAsync("/api/admin/notifications", new { groupId = group.GetProperty("groupId").GetString(), priority = 3, type = "system_notice", text = "maintenance tonight" });

        Assert.Equal("maintenance tonight", (await m.NextChatMessageAsync()).Text);
        await Assert.ThrowsAsync<HttpRequestException>(() => _broker.AdminPostAsync("/api/admin/notifications", new { userIds = new[] { member }, priority = 7, type = "x", text = "y" }));
        await Assert.ThrowsAsync<HttpRequestException>(() => _broker.AdminPostAsync("/api/admin/notifications", new { userIds = Array.Empty<string>(), type = "x", text = "y" }));
    }
}
