using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.DeviceSdk.Tests;

/// <summary>Business notifications sent over the admin HTTP API arrive in the stream, live or through sync.</summary>
public sealed class NotificationTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    [Fact]
    public async Task NotificationsArriveLiveAndAfterConnecting()
    {
        var bob = BrokerFixture.NewUser("bob");
        var carol = BrokerFixture.NewUser("carol");
        await using var bobClient = await fixture.ConnectAsync(bob);

        var answer = await fixture.Broker.AdminPostAsync("/api/admin/notifications", new
        {
            userIds = new[] { bob, carol },
            priority = 1,
            type = "todo_reminder",
            title = "Expense report",
            text = "due today",
            data = new Dictionary<string, string> { ["todoId"] = "t-17" },
        });
        Assert.Equal(2, answer.GetProperty("notifications").GetArrayLength());

        var live = Assert.Single(await bobClient.TakeAsync(1));
        Assert.Equal(
            (ConversationIds.Notifications(bob), 1L, MessageKind.Notification, "system", 1, "todo_reminder", "Expense report", "due today", "t-17"),
            (live.ConversationId, live.Seq, live.Kind, live.SenderId, live.Priority, live.NotificationType, live.Title, live.Text, live.Ext["todoId"]));

        // Carol was offline: she gets it when she connects.
        await using var carolClient = await fixture.ConnectAsync(carol);
        var synced = Assert.Single(await carolClient.TakeAsync(1));
        Assert.Equal((ConversationIds.Notifications(carol), MessageKind.Notification, "due today"), (synced.ConversationId, synced.Kind, synced.Text));
    }
}
