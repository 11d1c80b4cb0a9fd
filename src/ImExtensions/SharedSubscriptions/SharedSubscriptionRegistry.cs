using Prometheus;

namespace MqttIm.ImExtensions.SharedSubscriptions;

/// <summary>
/// Shared subscription groups (<c>$share/{ShareName}/{filter}</c>) on this node: who belongs to each, and which QoS 1/2
/// messages each member has not acknowledged yet. A matching message goes to ONE online member of each group,
/// round-robin over the members in the order they joined. When a member's connection or session ends, what it had not
/// acknowledged goes to the next online member; with none online it waits, bounded, for the first member that comes
/// (drop-oldest, counted). One lock guards it all; the publish path asks <see cref="IsEmpty"/> first and takes the lock
/// only while at least one group exists.
/// </summary>
/// <typeparam name="TMessage">The application message (MQTTnet's in the broker), opaque here.</typeparam>
internal sealed class SharedSubscriptionRegistry<TMessage>(SharedSubscriptionOptions options) where TMessage : class
{
    private static readonly Counter.Child NewDeliveries = SharedSubscriptionMetrics.Deliveries.WithLabels("new");
    private static readonly Counter.Child Redistributions = SharedSubscriptionMetrics.Deliveries.WithLabels("redistributed");
    private static readonly Counter.Child DroppedPendingFull = SharedSubscriptionMetrics.Dropped.WithLabels("pending_full");
    private static readonly Counter.Child DroppedGroupGone = SharedSubscriptionMetrics.Dropped.WithLabels("group_gone");

    private readonly object _gate = new();
    private readonly Dictionary<(string ShareName, string Filter), Group> _groups = [];
    private readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);
    private volatile int _groupCount;
    private volatile int _memberCount;
    private long _sequence;

    /// <summary>No group exists: the publish path has nothing to do (the one check a plain publish pays).</summary>
    public bool IsEmpty => _groupCount == 0;

    /// <summary>Some client belongs to a group (acknowledgements and connection events need a look).</summary>
    public bool HasMembers => _memberCount > 0;

    /// <summary>Joins (or updates) the client's subscription to the group of <paramref name="filter"/>; the group's waiting messages go to it.</summary>
    public void Subscribe(string clientId, string connectionKey, ISharedSubscriber<TMessage> subscriber, SharedFilter filter, int grantedQos, bool retainAsPublished)
    {
        lock (_gate)
        {
            if (!_members.TryGetValue(clientId, out var member))
            {
                member = new Member();
                _members[clientId] = member;
            }

            member.Subscriber = subscriber;
            member.ConnectionKey = connectionKey;
            member.Online = true;
            var key = (filter.ShareName, filter.Filter);
            if (!_groups.TryGetValue(key, out var group))
            {
                group = new Group(key);
                _groups[key] = group;
            }

            var subscription = new Subscription(member, grantedQos, filter.SubscriptionId, retainAsPublished);
            var index = group.Subscriptions.FindIndex(s => s.Member == member);
            if (index >= 0)
            {
                group.Subscriptions[index] = subscription; // a SUBSCRIBE to the same filter replaces the subscription
            }
            else
            {
                group.Subscriptions.Add(subscription);
                member.Groups.Add(group);
            }

            UpdateCounts();
            DrainPending(group);
        }
    }

    /// <summary>Leaves the group; false when the client was not in it. Messages it has in flight stay with its session.</summary>
    public bool Unsubscribe(string clientId, string shareName, string filter)
    {
        lock (_gate)
        {
            if (!_members.TryGetValue(clientId, out var member) || !_groups.TryGetValue((shareName, filter), out var group)
                || group.Subscriptions.RemoveAll(s => s.Member == member) == 0)
            {
                return false;
            }

            member.Groups.Remove(group);
            if (group.Subscriptions.Count == 0)
            {
                RemoveGroup(group);
            }

            if (member.Groups.Count == 0 && member.InFlight.Count == 0)
            {
                _members.Remove(clientId);
            }

            UpdateCounts();
            return true;
        }
    }

    /// <summary>
    /// A message published on <paramref name="topic"/>: one copy to one online member of every matching group.
    /// <paramref name="own"/> makes the copy the registry may keep (the publisher's buffers are reused), called at most once.
    /// Returns how many groups handed it to a member now.
    /// </summary>
    public int Route(string topic, int qos, bool retain, TMessage message, Func<TMessage, TMessage> own)
    {
        TMessage? owned = null;
        var delivered = 0;
        lock (_gate)
        {
            foreach (var group in _groups.Values)
            {
                if (!SharedTopicFilter.Matches(group.Key.Filter, topic))
                {
                    continue;
                }

                owned ??= own(message);
                var routed = new Routed(owned, qos, retain);
                if (TryHand(group, routed))
                {
                    delivered++;
                    NewDeliveries.Inc();
                }
                else if (qos > 0)
                {
                    AddPending(group, routed);
                }
            }
        }

        return delivered;
    }

    /// <summary>The member acknowledged the PUBLISH with this packet id (PUBACK, or PUBCOMP for QoS 2): it has it.</summary>
    public void Acknowledged(string clientId, ushort packetId)
    {
        lock (_gate)
        {
            if (_members.TryGetValue(clientId, out var member))
            {
                member.InFlight.Remove(packetId);
            }
        }
    }

    /// <summary>
    /// The member's connection ended and its session stays (persistent): it gets nothing new until it is back, and what it
    /// had not acknowledged goes to another online member. A connection the member no longer uses is ignored.
    /// </summary>
    public void ConnectionEnded(string clientId, string connectionKey)
    {
        lock (_gate)
        {
            if (!_members.TryGetValue(clientId, out var member) || member.ConnectionKey != connectionKey)
            {
                return;
            }

            member.Online = false;
            member.ConnectionKey = null;
            Redistribute(member);
        }
    }

    /// <summary>The member's persistent session was resumed by a new connection: it is online again and gets what its groups kept.</summary>
    public void Resumed(string clientId, string connectionKey)
    {
        lock (_gate)
        {
            if (!_members.TryGetValue(clientId, out var member))
            {
                return;
            }

            if (member.Online)
            {
                // A takeover: MQTTnet sends the unacknowledged messages again on the new connection, with new packet ids.
                member.InFlight.Clear();
            }

            member.Online = true;
            member.ConnectionKey = connectionKey;
            foreach (var group in member.Groups)
            {
                DrainPending(group);
            }
        }
    }

    /// <summary>The member's session ended (clean session disconnect, clean start, expiry): it leaves all its groups, and what it had not acknowledged goes to the others.</summary>
    public void SessionEnded(string clientId)
    {
        lock (_gate)
        {
            if (!_members.Remove(clientId, out var member))
            {
                return;
            }

            member.Online = false;
            foreach (var group in member.Groups)
            {
                group.Subscriptions.RemoveAll(s => s.Member == member);
                if (group.Subscriptions.Count == 0)
                {
                    RemoveGroup(group);
                }
            }

            member.Groups.Clear();
            Redistribute(member);
            UpdateCounts();
        }
    }

    /// <summary>Whether the client belongs to (or still has messages in flight for) a group.</summary>
    public bool IsMember(string clientId)
    {
        lock (_gate)
        {
            return _members.ContainsKey(clientId);
        }
    }

    /// <summary>The groups with their member count and waiting messages, ordered by share name then filter (console, tests).</summary>
    public IReadOnlyList<SharedGroupView> Groups()
    {
        lock (_gate)
        {
            return [.. _groups.Values
                .Select(g => new SharedGroupView(g.Key.ShareName, g.Key.Filter, g.Subscriptions.Count, g.Subscriptions.Count(s => s.Member.Online), g.Pending.Count))
                .OrderBy(g => g.ShareName, StringComparer.Ordinal).ThenBy(g => g.Filter, StringComparer.Ordinal)];
        }
    }

    // Next online member from the group's cursor on; false when none is online or every session refused the message.
    private bool TryHand(Group group, in Routed routed)
    {
        var subscriptions = group.Subscriptions;
        var count = subscriptions.Count;
        for (var i = 0; i < count; i++)
        {
            var index = (group.Cursor + i) % count;
            var subscription = subscriptions[index];
            var member = subscription.Member;
            if (!member.Online)
            {
                continue;
            }

            var qos = Math.Min(routed.Qos, subscription.GrantedQos);
            var delivery = new SharedDelivery(qos, subscription.SubscriptionId, subscription.RetainAsPublished && routed.Retain);
            if (!member.Subscriber!.TryDeliver(routed.Message, delivery, out var packetId))
            {
                continue;
            }

            group.Cursor = (index + 1) % count;
            if (qos > 0)
            {
                member.InFlight[packetId] = new InFlight(++_sequence, group, routed);
            }

            return true;
        }

        return false;
    }

    private void Redistribute(Member member)
    {
        if (member.InFlight.Count == 0)
        {
            return;
        }

        var entries = member.InFlight.Values.OrderBy(e => e.Sequence).ToList(); // in the order they were sent
        member.InFlight.Clear();
        foreach (var entry in entries)
        {
            if (!_groups.TryGetValue(entry.Group.Key, out var group) || group != entry.Group)
            {
                DroppedGroupGone.Inc(); // nobody subscribes to it any more
                continue;
            }

            if (TryHand(group, entry.Message))
            {
                Redistributions.Inc();
            }
            else
            {
                AddPending(group, entry.Message);
            }
        }
    }

    private void AddPending(Group group, in Routed routed)
    {
        group.Pending.AddLast(routed);
        if (group.Pending.Count > options.MaxPendingPerGroup)
        {
            group.Pending.RemoveFirst();
            DroppedPendingFull.Inc();
        }
    }

    private void DrainPending(Group group)
    {
        while (group.Pending.First is { } oldest)
        {
            if (!TryHand(group, oldest.Value))
            {
                return;
            }

            group.Pending.Remove(oldest);
            Redistributions.Inc();
        }
    }

    private void RemoveGroup(Group group)
    {
        _groups.Remove(group.Key);
        if (group.Pending.Count > 0)
        {
            DroppedGroupGone.Inc(group.Pending.Count);
            group.Pending.Clear();
        }
    }

    private void UpdateCounts()
    {
        _groupCount = _groups.Count;
        _memberCount = _members.Count;
        SharedSubscriptionMetrics.Groups.Set(_groups.Count);
    }

    private readonly record struct Routed(TMessage Message, int Qos, bool Retain);

    private sealed record InFlight(long Sequence, Group Group, Routed Message);

    private sealed record Subscription(Member Member, int GrantedQos, uint SubscriptionId, bool RetainAsPublished);

    private sealed class Member
    {
        public ISharedSubscriber<TMessage>? Subscriber { get; set; }

        public string? ConnectionKey { get; set; }

        public bool Online { get; set; }

        public Dictionary<ushort, InFlight> InFlight { get; } = [];

        public List<Group> Groups { get; } = [];
    }

    private sealed class Group((string ShareName, string Filter) key)
    {
        public (string ShareName, string Filter) Key { get; } = key;

        public List<Subscription> Subscriptions { get; } = [];

        public int Cursor { get; set; }

        public LinkedList<Routed> Pending { get; } = new();
    }
}

/// <summary>One shared group as the console and tests see it.</summary>
public sealed record SharedGroupView(string ShareName, string Filter, int Members, int OnlineMembers, int Pending);
