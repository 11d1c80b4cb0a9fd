using System.Reflection;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Presence;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.Broker.Tests.Presence;

public sealed class PresenceWatchPolicyTests
{
    private static PresenceWatchPolicy Policy(PresenceWatchRule rule, params string[] watcherConversations) =>
        new(Options.Create(new PresenceOptions { WatchPolicy = rule }), ConversationStoreStub.With(watcherConversations));

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
    public async Task Anyone_And_SelfOnly()
    {
        Assert.True(await Policy(PresenceWatchRule.Anyone).MayWatchAsync("alice", "bob", CancellationToken.None));
        Assert.False(await Policy(PresenceWatchRule.SelfOnly, "c2c:alice:bob").MayWatchAsync("alice", "bob", CancellationToken.None));
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
