using System.Reflection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging.Abstractions;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Presence;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Tests.Presence;

public sealed class PresenceWatchPolicyTests
{
    private static PresenceWatchPolicy Policy(PresenceWatchRule rule, string[] watcherConversations, params (string Conversation, string Writer)[] writes)
    {
        var groups = new GroupDirectory(GroupStoreStub.WithGroup("g1", "alice", "dave"));
        var writers = new InMemoryWriters();
        foreach (var (conversation, writer) in writes)
        {
            writers.AddAsync(conversation, writer, CancellationToken.None).GetAwaiter().GetResult();
        }

        var index = new UserGroupsIndex(ConversationStoreStub.With(watcherConversations), groups, new BoundedLruCache<string, string[]>("test_user_groups", 100));
        var relations = new PresenceRelations(writers, index, groups, new BoundedLruCache<string, string[]>("test_writers", 100), NullLogger<PresenceRelations>.Instance);
        return new PresenceWatchPolicy(Options.Create(new PresenceOptions { WatchPolicy = rule }), relations);
    }

    private static PresenceWatchPolicy Policy(PresenceWatchRule rule) => Policy(rule, []);

    [Theory]
    [InlineData(PresenceWatchRule.SharedConversation)]
    [InlineData(PresenceWatchRule.Anyone)]
    [InlineData(PresenceWatchRule.SelfOnly)]
    public async Task EveryoneMayWatchThemselves(PresenceWatchRule rule)
    {
        Assert.True(await Policy(rule).MayWatchAsync("alice", "alice", CancellationToken.None));
    }

    [Fact]
    public async Task SharedConversation_NeedsBothToHaveWritten()
    {
        var policy = Policy(PresenceWatchRule.SharedConversation, ["c2c:alice:bob", "c2c:alice:mallory", "notify:alice"],
            ("c2c:alice:bob", "alice"), ("c2c:alice:bob", "bob"), ("c2c:alice:mallory", "mallory"));

        Assert.True(await policy.MayWatchAsync("alice", "bob", CancellationToken.None));
        Assert.True(await policy.MayWatchAsync("bob", "alice", CancellationToken.None));
        // Mallory wrote once and alice never answered: no relation either way.
        Assert.False(await policy.MayWatchAsync("mallory", "alice", CancellationToken.None));
        Assert.False(await policy.MayWatchAsync("alice", "mallory", CancellationToken.None));
        Assert.False(await policy.MayWatchAsync("alice", "carol", CancellationToken.None));
        Assert.False(await policy.MayWatchAsync("alice", "bo", CancellationToken.None));
    }

    [Fact]
    public async Task SharedConversation_IncludesCommonGroups()
    {
        var policy = Policy(PresenceWatchRule.SharedConversation, ["group:g1"]);

        Assert.True(await policy.MayWatchAsync("alice", "dave", CancellationToken.None));
        Assert.False(await policy.MayWatchAsync("alice", "erin", CancellationToken.None));
    }

    [Fact]
    public async Task Anyone_And_SelfOnly()
    {
        Assert.True(await Policy(PresenceWatchRule.Anyone).MayWatchAsync("alice", "bob", CancellationToken.None));
        Assert.False(await Policy(PresenceWatchRule.SelfOnly, ["c2c:alice:bob"], ("c2c:alice:bob", "alice"), ("c2c:alice:bob", "bob"))
            .MayWatchAsync("alice", "bob", CancellationToken.None));
    }

    /// <summary>Writers kept in a dictionary (the real stores have their own contract suite).</summary>
    private sealed class InMemoryWriters : IConversationWriterStore
    {
        private readonly Dictionary<string, HashSet<string>> _writers = [];

        public Task AddAsync(string conversationId, string userId, CancellationToken cancellationToken)
        {
            lock (_writers)
            {
                (_writers.TryGetValue(conversationId, out var set) ? set : _writers[conversationId] = []).Add(userId);
            }

            return Task.CompletedTask;
        }

        public Task<IReadOnlyCollection<string>> GetWritersAsync(string conversationId, CancellationToken cancellationToken)
        {
            lock (_writers)
            {
                return Task.FromResult<IReadOnlyCollection<string>>(_writers.TryGetValue(conversationId, out var set) ? [.. set] : []);
            }
        }
    }

    /// <summary>One fixed group with its members; any other member throws.</summary>
    public class GroupStoreStub : DispatchProxy
    {
        private GroupRecord _group = null!;
        private string[] _members = [];

        public static IGroupStore WithGroup(string groupId, params string[] members)
        {
            var store = Create<IGroupStore, GroupStoreStub>();
            var stub = (GroupStoreStub)(object)store;
            stub._group = new GroupRecord(groupId, groupId, members[0], false, false);
            stub._members = members;
            return store;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            nameof(IGroupStore.GetAsync) => Task.FromResult((string)args![0]! == _group.GroupId ? _group : null),
            nameof(IGroupStore.GetMembersPageAsync) => Task.FromResult<IReadOnlyList<MqttIm.Contracts.V1.GroupMember>>(
                [.. _members.Order(StringComparer.Ordinal).Where(m => string.CompareOrdinal(m, (string?)args![1] ?? "") > 0).Take((int)args![2]!)
                    .Select(m => new MqttIm.Contracts.V1.GroupMember { UserId = m, JoinedSeq = 1 })]),
            _ => throw new NotSupportedException(targetMethod?.Name),
        };
    }

    /// <summary>Answers GetAllAsync with fixed conversation ids; any other member throws.</summary>
    public class ConversationStoreStub : DispatchProxy
    {
        private string[] _conversationIds = [];

        public static IConversationStore With(string[] conversationIds)
        {
            var store = Create<IConversationStore, ConversationStoreStub>();
            ((ConversationStoreStub)(object)store)._conversationIds = conversationIds;
            return store;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            nameof(IConversationStore.GetAllAsync) => Task.FromResult<IReadOnlyList<ConversationState>>(
                [.. _conversationIds.Select(id => new ConversationState(id, 1, 0, 1, false, false, 0))]),
            _ => throw new NotSupportedException(targetMethod?.Name),
        };
    }
}
