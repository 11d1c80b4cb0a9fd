using MQTTnet.Formatter;
using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Routing;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Topics;

namespace MqttIm.ImExtensions.Tests.Routing;

public sealed class TopicAndAclTests
{
    private static readonly ConnectedDevice Alice = new("alice", "alice-1", IsMqtt5: true, WireFormat.Json, "k");
    private readonly TopicAclEvaluator _acl = new(new AclOptions());

    [Theory]
    [InlineData("im/c2c/bob", TopicKind.C2cSend, "bob")]
    [InlineData("im/c2c/bob/extra", TopicKind.ImReserved, "bob")]
    [InlineData("im/c2c/", TopicKind.ImReserved, "")]
    [InlineData("im/group/g1", TopicKind.GroupSend, "g1")]
    [InlineData("im/rpc/sync", TopicKind.Rpc, "sync")]
    [InlineData("im/rpc/push/register", TopicKind.Rpc, "push/register")]
    [InlineData("inbox/alice", TopicKind.Inbox, "alice")]
    [InlineData("inbox/alice/rpc", TopicKind.Inbox, "alice")]
    [InlineData("room/r1", TopicKind.Room, "r1")]
    [InlineData("$SYS/x", TopicKind.System, "")]
    [InlineData("#", TopicKind.Wildcard, "")]
    [InlineData("+/x", TopicKind.Wildcard, "")]
    [InlineData("sensors/kitchen", TopicKind.Plain, "")]
    [InlineData("imx/c2c/bob", TopicKind.Plain, "")]
    public void Parse_ClassifiesByLeadingLevels(string topic, TopicKind kind, string target)
    {
        var parsed = ParsedTopic.Parse(topic);

        Assert.Equal((kind, target), (parsed.Kind, parsed.Target));
    }

    [Theory]
    [InlineData("inbox/alice", true)]
    [InlineData("inbox/alice/rpc", true)]
    [InlineData("inbox/bob", false)]
    [InlineData("inbox/+", false)]
    [InlineData("inbox/#", false)]
    [InlineData("im/c2c/bob", false)]
    [InlineData("presence/bob", true)] // the ACL checks the shape only; PresenceWatchPolicy decides who may watch whom
    [InlineData("presence/alice", true)]
    [InlineData("presence/+", false)]
    [InlineData("presence/#", false)]
    [InlineData("presence/bob/x", false)]
    [InlineData("presence/", false)]
    [InlineData("$SYS/#", false)]
    [InlineData("#", true)]
    [InlineData("sensors/+/temp", true)]
    public void Subscribe_OwnInboxAndPlainOnly(string filter, bool allowed)
    {
        Assert.Equal(allowed, _acl.CheckSubscribe(Alice, ParsedTopic.Parse(filter)).Allowed);
    }

    [Theory]
    [InlineData("im/c2c/bob", true, false)]
    [InlineData("im/c2c/bad id", false, true)]
    [InlineData("im/rpc/sync", true, false)]
    [InlineData("inbox/alice", false, false)]
    [InlineData("inbox/bob", false, false)]
    [InlineData("presence/alice", false, false)]
    [InlineData("im/nope/x", false, true)]
    [InlineData("sensors/kitchen", true, false)]
    public void Publish_NeverOnDownlinks(string topic, bool allowed, bool invalidTopic)
    {
        var decision = _acl.CheckPublish(Alice, ParsedTopic.Parse(topic));

        Assert.Equal((allowed, invalidTopic), (decision.Allowed, decision.InvalidTopic));
        Assert.Equal(allowed, decision.Reason is null);
    }

    [Fact]
    public void PlainTopics_CanBeSwitchedOff()
    {
        var closed = new TopicAclEvaluator(new AclOptions { AllowPlainTopics = false });

        Assert.False(closed.CheckPublish(Alice, ParsedTopic.Parse("sensors/x")).Allowed);
        Assert.False(closed.CheckSubscribe(Alice, ParsedTopic.Parse("#")).Allowed);
        Assert.True(closed.CheckSubscribe(Alice, ParsedTopic.Parse("inbox/alice")).Allowed);
    }

    [Theory]
    [InlineData("alice", true)]
    [InlineData("a.b-c_D9", true)]
    [InlineData("", false)]
    [InlineData("with space", false)]
    [InlineData("colon:id", false)]
    [InlineData("slash/id", false)]
    [InlineData("plus+", false)]
    public void UserIds_AreSafeAsTopicLevelsAndConversationParts(string id, bool valid)
    {
        Assert.Equal(valid, UserIds.IsValid(id));
    }

    [Fact]
    public void ConversationIds_AreTheSameFromBothSides()
    {
        Assert.Equal("c2c:alice:bob", ConversationIds.C2c("bob", "alice"));
        Assert.Equal("c2c:alice:bob", ConversationIds.C2c("alice", "bob"));
        Assert.True(ConversationIds.IsParticipant("c2c:alice:bob", "bob"));
        Assert.False(ConversationIds.IsParticipant("c2c:alice:bob", "ali"));
        Assert.False(ConversationIds.IsParticipant("group:g1", "alice"));
    }
}
