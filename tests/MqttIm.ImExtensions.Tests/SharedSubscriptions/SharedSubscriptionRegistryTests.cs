using MqttIm.ImExtensions.SharedSubscriptions;

namespace MqttIm.ImExtensions.Tests.SharedSubscriptions;

/// <summary>Which member gets each message, and what happens to unacknowledged ones when members come and go.</summary>
public sealed class SharedSubscriptionRegistryTests
{
    private readonly SharedSubscriptionRegistry<string> _registry = new(new SharedSubscriptionOptions { MaxPendingPerGroup = 3 });

    private static SharedFilter Filter(string text)
    {
        Assert.True(SharedFilter.TryParse(text, out var filter, out var error), error);
        return filter;
    }

    private FakeSession Join(string clientId, string filter = "$share/g/jobs/#", int qos = 1, bool retainAsPublished = false)
    {
        var session = new FakeSession();
        _registry.Subscribe(clientId, clientId + "-conn", session, Filter(filter), qos, retainAsPublished);
        return session;
    }

    private int Publish(string payload, string topic = "jobs/1", int qos = 1, bool retain = false) =>
        _registry.Route(topic, qos, retain, payload, static m => m);

    [Fact]
    public void NoGroup_IsEmpty_AndRoutesNothing()
    {
        Assert.True(_registry.IsEmpty);
        Assert.False(_registry.HasMembers);
        Assert.Equal(0, Publish("m"));
    }

    [Fact]
    public void EachMessage_GoesToExactlyOneMember_RoundRobin()
    {
        var a = Join("a");
        var b = Join("b");
        var c = Join("c");

        for (var i = 0; i < 9; i++)
        {
            Assert.Equal(1, Publish("m" + i));
        }

        Assert.Equal(["m0", "m3", "m6"], a.Payloads);
        Assert.Equal(["m1", "m4", "m7"], b.Payloads);
        Assert.Equal(["m2", "m5", "m8"], c.Payloads);
    }

    [Fact]
    public void QoS_IsTheLowerOfPublishedAndGranted_AndRetainOnlyWithRetainAsPublished()
    {
        var low = Join("low", qos: 0);
        var high = Join("high", "$share/h/jobs/#", qos: 2, retainAsPublished: true);

        Publish("m", qos: 1, retain: true);

        Assert.Equal(new SharedDelivery(0, 0, false), Assert.Single(low.Deliveries).Delivery);
        Assert.Equal(new SharedDelivery(1, 0, true), Assert.Single(high.Deliveries).Delivery);
    }

    [Fact]
    public void SubscriptionIdentifier_IsCarried()
    {
        var session = new FakeSession();
        _registry.Subscribe("a", "conn", session, Filter("\0share/42/g/jobs/#"), 1, false);

        Publish("m");

        Assert.Equal(42u, Assert.Single(session.Deliveries).Delivery.SubscriptionId);
    }

    [Fact]
    public void DifferentGroupsAndFilters_EachGetACopy_NonMatchingGetNone()
    {
        var a = Join("a", "$share/g1/jobs/#");
        var b = Join("b", "$share/g2/jobs/#");
        var other = Join("c", "$share/g1/other/#");

        Assert.Equal(2, Publish("m"));

        Assert.Equal(["m"], a.Payloads);
        Assert.Equal(["m"], b.Payloads);
        Assert.Empty(other.Payloads);
    }

    [Fact]
    public void SessionEnded_HandsUnacknowledgedToAnotherMember_InOrder_AcknowledgedStay()
    {
        var a = Join("a");
        var b = Join("b");
        Publish("m0"); // a
        Publish("m1"); // b
        Publish("m2"); // a
        Publish("m3"); // b
        _registry.Acknowledged("a", a.Deliveries[0].PacketId); // m0 done

        _registry.SessionEnded("a");

        Assert.Equal(["m1", "m3", "m2"], b.Payloads); // m2 again, to b; m0 was acknowledged
        Assert.Equal(1, Publish("m4"));
        Assert.Equal("m4", b.Payloads[^1]);
    }

    [Fact]
    public void ConnectionEnded_PersistentMember_GetsNothingUntilResumed_ItsUnacknowledgedGoToOthers()
    {
        var a = Join("a");
        var b = Join("b");
        Publish("m0"); // a, not acknowledged

        _registry.ConnectionEnded("a", "a-conn");
        Publish("m1");
        Publish("m2");

        Assert.Equal(["m0", "m1", "m2"], b.Payloads);
        Assert.Equal(["m0"], a.Payloads);

        _registry.Resumed("a", "a-conn2");
        Publish("m3");
        Publish("m4");
        Assert.Equal(["m0", "m3"], a.Payloads); // back in the rotation
        Assert.Equal(["m0", "m1", "m2", "m4"], b.Payloads);
    }

    [Fact]
    public void ConnectionEnded_OfAnOlderConnection_IsIgnored()
    {
        var a = Join("a");
        _registry.Resumed("a", "newer");

        _registry.ConnectionEnded("a", "a-conn");

        Assert.Equal(1, Publish("m"));
        Assert.Equal(["m"], a.Payloads);
    }

    [Fact]
    public void NoMemberOnline_MessagesWait_Bounded_DropOldest_FirstMemberToComeGetsThem()
    {
        var a = Join("a");
        _registry.ConnectionEnded("a", "a-conn");

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(0, Publish("m" + i));
        }

        Publish("q0", qos: 0); // QoS 0 is not kept
        Assert.Equal(3, Assert.Single(_registry.Groups()).Pending);

        var b = Join("b");

        Assert.Equal(["m2", "m3", "m4"], b.Payloads);
        Assert.Empty(a.Payloads);
        Assert.Equal(0, Assert.Single(_registry.Groups()).Pending);
    }

    [Fact]
    public void ResumedMember_GetsWhatWaited()
    {
        var a = Join("a");
        _registry.ConnectionEnded("a", "a-conn");
        Publish("m0");

        _registry.Resumed("a", "a-conn2");

        Assert.Equal(["m0"], a.Payloads);
    }

    [Fact]
    public void Unsubscribe_LeavesTheGroup_LastOneRemovesIt()
    {
        var a = Join("a");
        var b = Join("b");

        Assert.True(_registry.Unsubscribe("a", "g", "jobs/#"));
        Assert.False(_registry.Unsubscribe("a", "g", "jobs/#"));
        Publish("m0");
        Publish("m1");

        Assert.Empty(a.Payloads);
        Assert.Equal(["m0", "m1"], b.Payloads);

        Assert.True(_registry.Unsubscribe("b", "g", "jobs/#"));
        Assert.True(_registry.IsEmpty);
        Assert.Equal(0, Publish("m2"));
    }

    [Fact]
    public void RefusingSession_IsSkipped_TheNextMemberGetsIt()
    {
        var a = Join("a");
        var b = Join("b");
        a.Refuse = true;

        Publish("m0");
        Publish("m1");

        Assert.Empty(a.Payloads);
        Assert.Equal(["m0", "m1"], b.Payloads);
    }

    [Fact]
    public void SessionEnded_OfTheLastMember_DropsTheGroupAndWhatItHeld()
    {
        Join("a");
        Publish("m0");

        _registry.SessionEnded("a");

        Assert.True(_registry.IsEmpty);
        Assert.False(_registry.HasMembers);
        Assert.Empty(_registry.Groups());
    }

    private sealed class FakeSession : ISharedSubscriber<string>
    {
        private ushort _nextPacketId;

        public bool Refuse { get; set; }

        public List<(string Message, SharedDelivery Delivery, ushort PacketId)> Deliveries { get; } = [];

        public List<string> Payloads => [.. Deliveries.Select(d => d.Message)];

        public bool TryDeliver(string message, SharedDelivery delivery, out ushort packetId)
        {
            packetId = delivery.Qos > 0 ? ++_nextPacketId : (ushort)0;
            if (Refuse)
            {
                return false;
            }

            Deliveries.Add((message, delivery, packetId));
            return true;
        }
    }
}
