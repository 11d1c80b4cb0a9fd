using System.Reflection;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Presence;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.Broker.Tests.Presence;

public sealed class PresenceWatchPolicyTests
{
    private static PresenceWatchPolicy Policy(PresenceWatchRule rule, params string[] watcherConversations) =>
        new(Options.Create(new PresenceOptions { WatchPolicy = rule }), ConversationStoreStub.With(watcherConversations), new GroupDirectory(GroupStoreStub.WithGroup("g1", "alice", "dave")));

    [Theory]
    [InlineData(PresenceWatchRule.SharedConversation)]
    [InlineData(PresenceWatchRule.Anyone)]
    [InlineData(PresenceWatchRule.SelfOnly)]
    public async Task EveryoneMayWatchThemselves(PresenceWatchRule rule)
    {
        Assert.True(await Policy(rule).MayWatchAsync("alice", "alice", CancellationToken.None));
    }

    [Fact]
    public async Task SharedConversation_NeedsACommonConversation()
    {
        var policy = Policy(PresenceWatchRule.SharedConversation, "c2c:alice:bob", "notify:alice");

        Assert.True(await policy.MayWatchAsync("alice", "bob", CancellationToken.None));
        Assert.False(await policy.MayWatchAsync("alice", "carol", CancellationToken.None));
        Assert.False(await policy.MayWatchAsync("alice", "bo", CancellationToken.None));
    }

    [Fact]
    public async Task SharedConversation_IncludesCommonGroups()
    {
        var policy = Policy(PresenceWatchRule.SharedConversation, "group:g1");

        Assert.True(await policy.MayWatchAsync("alice", "dave", CancellationToken.None));
        Assert.False(await policy.MayWatchAsync("alice", "erin", CancellationToken.None));
    }

    [Fact]
    public async Task Anyone_And_SelfOnly()
    {
        Assert.True(await Policy(PresenceWatchRule.Anyone).MayWatchAsync("alice", "bob", CancellationToken.None));
        Assert.False(await Policy(PresenceWatchRule.SelfOnly, "c2c:alice:bob").MayWatchAsync("alice", "bob", CancellationToken.None));
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
            nameof(IGroupStore.GetMembersAsync) => Task.FromResult<IReadOnlyList<MqttIm.Contracts.V1.GroupMember>>(
                [.. _members.Select(m => new MqttIm.Contracts.V1.GroupMember { UserId = m, JoinedSeq = 1 })]),
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
