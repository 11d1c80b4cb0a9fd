using MqttIm.ImExtensions.Presence;

namespace MqttIm.ImExtensions.Tests.Presence;

public sealed class PresenceTrackerTests
{
    private readonly PresenceTracker _tracker = new();

    [Fact]
    public void UnknownUser_IsOffline_WithNoLastSeen()
    {
        var state = _tracker.Get("alice");

        Assert.Equal(("alice", false, 0L, 0), (state.UserId, state.Online, state.ChangedMs, state.Devices.Count));
    }

    [Fact]
    public void NeverSeenOnline_AndNoDevices_IsNotAChange()
    {
        Assert.Null(_tracker.Apply("alice", [], 100));
    }

    [Fact]
    public void Changes_AreReported_Once_WithSortedDevices()
    {
        var online = _tracker.Apply("alice", ["phone", "desk"], 100);
        Assert.NotNull(online);
        Assert.True(online.Online);
        Assert.Equal(["desk", "phone"], online.Devices);
        Assert.Equal(100, online.ChangedMs);

        Assert.Null(_tracker.Apply("alice", ["desk", "phone"], 200));

        var oneLeft = _tracker.Apply("alice", ["desk"], 300);
        Assert.Equal(["desk"], oneLeft!.Devices);

        var offline = _tracker.Apply("alice", [], 400);
        Assert.False(offline!.Online);
        Assert.Empty(offline.Devices);
        Assert.Null(_tracker.Apply("alice", [], 500));

        var lastSeen = _tracker.Get("alice");
        Assert.Equal((false, 400L), (lastSeen.Online, lastSeen.ChangedMs));
    }
}
