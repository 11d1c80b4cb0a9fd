using System.Reflection;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Presence;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.Broker.Tests.Presence;

public sealed class PresenceWatchPolicyTests
{
    private static readonly (string, string[])[] Conversations =
        [("c2c:alice:bob", ["alice", "bob"]), ("notify:alice", ["alice"]), ("group:g1", ["alice", "dave"])];

    private static PresenceWatchPolicy Policy(PresenceWatchRule rule) =>
        new(Options.Create(new PresenceOptions { WatchPolicy = rule }), ConversationStoreStub.With(Conversations));

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
        var policy = Policy(PresenceWatchRule.SharedConversation);

        Assert.True(await policy.MayWatchAsync("alice", "bob", CancellationToken.None));
        Assert.False(await policy.MayWatchAsync("alice", "carol", CancellationToken.None));
        Assert.False(await policy.MayWatchAsync("alice", "bo", CancellationToken.None));
    }

    [Fact]
    public async Task SharedConversation_IncludesCommonGroups()
    {
        var policy = Policy(PresenceWatchRule.SharedConversation);

        Assert.True(await policy.MayWatchAsync("alice", "dave", CancellationToken.None));
        Assert.False(await policy.MayWatchAsync("alice", "erin", CancellationToken.None));
    }

    [Fact]
    public async Task Anyone_And_SelfOnly()
    {
        Assert.True(await Policy(PresenceWatchRule.Anyone).MayWatchAsync("alice", "bob", CancellationToken.None));
        Assert.False(await Policy(PresenceWatchRule.SelfOnly).MayWatchAsync("alice", "bob", CancellationToken.None));
    }

    /// <summary>Fixed conversations with their participants; answers ShareConversationAsync from them, any other member throws.</summary>
    public class ConversationStoreStub : DispatchProxy
    {
        private (string ConversationId, string[] Participants)[] _conversations = [];

        public static IConversationStore With((string ConversationId, string[] Participants)[] conversations)
        {
            var store = Create<IConversationStore, ConversationStoreStub>();
            ((ConversationStoreStub)(object)store)._conversations = conversations;
            return store;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            nameof(IConversationStore.ShareConversationAsync) => Task.FromResult(
                _conversations.Any(c => c.Participants.Contains((string)args![0]!) && c.Participants.Contains((string)args[1]!))),
            _ => throw new NotSupportedException(targetMethod?.Name),
        };
    }
}
