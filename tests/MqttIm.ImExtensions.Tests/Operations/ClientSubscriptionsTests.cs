using MqttIm.ImExtensions.Operations;

namespace MqttIm.ImExtensions.Tests.Operations;

public sealed class ClientSubscriptionsTests
{
    private readonly ClientSubscriptions _subscriptions = new();

    [Fact]
    public void Granted_Lists_InFilterOrder_AndARepeatUpdatesTheQos()
    {
        _subscriptions.Granted("dev", "inbox/alice", 1);
        _subscriptions.Granted("dev", "chat/room", 0);
        _subscriptions.Granted("dev", "inbox/alice", 0);
        _subscriptions.Granted("other", "x/y", 1);

        Assert.Equal([new SubscriptionView("chat/room", 0), new SubscriptionView("inbox/alice", 0)], _subscriptions.Of("dev"));
        Assert.Equal(3, _subscriptions.Count);
    }

    [Fact]
    public void Removed_And_SessionEnded_ForgetFilters()
    {
        _subscriptions.Granted("dev", "a/b", 1);
        _subscriptions.Granted("dev", "c/d", 1);
        _subscriptions.Removed("dev", "a/b");
        _subscriptions.Removed("dev", "not/there");
        _subscriptions.Removed("nobody", "a/b");

        Assert.Equal([new SubscriptionView("c/d", 1)], _subscriptions.Of("dev"));
        _subscriptions.SessionEnded("dev");
        Assert.Empty(_subscriptions.Of("dev"));
        Assert.Equal(0, _subscriptions.Count);
    }
}
