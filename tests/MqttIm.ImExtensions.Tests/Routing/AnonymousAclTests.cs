using MqttIm.ImExtensions.Auth;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Routing;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Topics;

namespace MqttIm.ImExtensions.Tests.Routing;

/// <summary>Anonymous mode's ACL (<c>Auth:Anonymous</c>) and the filter algebra behind it.</summary>
public sealed class AnonymousAclTests
{
    [Theory]
    [InlineData("#", "a/b", true)]
    [InlineData("#", "#", true)]
    [InlineData("a/#", "a", true)]
    [InlineData("a/#", "a/+/c", true)]
    [InlineData("a/#", "b/#", false)]
    [InlineData("a/+", "a/b", true)]
    [InlineData("a/+", "a/+", true)]
    [InlineData("a/+", "a/#", false)]
    [InlineData("a/+", "a/b/c", false)]
    [InlineData("a/b", "a/+", false)]
    [InlineData("a/b", "a/b", true)]
    [InlineData("+/temperature", "s1/temperature", true)]
    [InlineData("a/b/#", "a", false)]
    public void Covers(string outer, string inner, bool expected) => Assert.Equal(expected, TopicFilterCoverage.Covers(outer, inner));

    private static readonly ConnectedDevice Anonymous = new("", "anon-1", IsMqtt5: true, WireFormat.Json, "k", IsAnonymous: true);

    [Theory]
    [InlineData("public/news", true)]
    [InlineData("public/#", true)]
    [InlineData("private/x", false)]
    [InlineData("#", false)]
    [InlineData("+", false)]
    [InlineData("+/news", false)]
    [InlineData("inbox/alice", false)]
    [InlineData("presence/alice", false)]
    [InlineData("room/lobby", false)]
    [InlineData("device/d1/telemetry/#", false)]
    [InlineData("$SYS/#", false)]
    public void Subscribe_WithinTheList_PlainOnly(string filter, bool allowed)
    {
        var acl = new TopicAclEvaluator(new AclOptions(), new AnonymousTopicAcl(new AnonymousOptions { Subscribe = ["public/#"] }));

        Assert.Equal(allowed, acl.CheckSubscribe(Anonymous, ParsedTopic.Parse(filter)).Allowed);
    }

    [Theory]
    [InlineData("anything/at/all", true)]
    [InlineData("im/c2c/alice", false)]
    [InlineData("im/rpc/sync", false)]
    [InlineData("inbox/alice", false)]
    [InlineData("room/lobby", false)]
    [InlineData("device/d1/telemetry", false)]
    [InlineData("$SYS/x", false)]
    public void Publish_Unconfigured_AnyPlainTopic_NeverReserved(string topic, bool allowed)
    {
        var acl = new TopicAclEvaluator(new AclOptions(), new AnonymousTopicAcl(new AnonymousOptions()));

        Assert.Equal(allowed, acl.CheckPublish(Anonymous, ParsedTopic.Parse(topic)).Allowed);
    }

    [Fact]
    public void Publish_Configured_TopicMustMatchAFilter()
    {
        var acl = new TopicAclEvaluator(new AclOptions(), new AnonymousTopicAcl(new AnonymousOptions { Publish = ["sensors/+/temperature"] }));

        Assert.True(acl.CheckPublish(Anonymous, ParsedTopic.Parse("sensors/s1/temperature")).Allowed);
        Assert.False(acl.CheckPublish(Anonymous, ParsedTopic.Parse("sensors/s1/humidity")).Allowed);
    }
}
