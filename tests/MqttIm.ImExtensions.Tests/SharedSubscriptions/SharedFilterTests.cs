using MqttIm.ImExtensions.SharedSubscriptions;

namespace MqttIm.ImExtensions.Tests.SharedSubscriptions;

/// <summary><c>$share/{ShareName}/{filter}</c> as clients write it and as the packet layer hands it on (MQTT 5.0 §4.8.2).</summary>
public sealed class SharedFilterTests
{
    [Theory]
    [InlineData("$share/workers/jobs/#", "workers", "jobs/#", 0u)]
    [InlineData("$share/g/a/+/c", "g", "a/+/c", 0u)]
    [InlineData("$share/g/#", "g", "#", 0u)]
    [InlineData("\0share/7/g/sensors/+", "g", "sensors/+", 7u)]
    [InlineData("\0share/0/grp-1/x", "grp-1", "x", 0u)]
    public void WellFormed_IsParsed(string raw, string shareName, string filter, uint subscriptionId)
    {
        Assert.True(SharedFilter.IsShared(raw));
        Assert.True(SharedFilter.TryParse(raw, out var shared, out var error), error);
        Assert.Equal(new SharedFilter(shareName, filter, subscriptionId), shared);
        Assert.Equal("$share/" + shareName + "/" + filter, shared.Text);
    }

    [Theory]
    [InlineData("$share//jobs")] // empty share name
    [InlineData("$share/g+/jobs")]
    [InlineData("$share/g#/jobs")]
    [InlineData("$share/+/jobs")]
    [InlineData("$share/g")] // no filter
    [InlineData("$share/g/")] // empty filter
    [InlineData("$share/g/a/#/b")] // '#' not last
    [InlineData("$share/g/a+/b")] // '+' not a whole level
    [InlineData("\0share/x/g/a")] // subscription id not a number
    public void Malformed_IsRefusedWithAReason(string raw)
    {
        Assert.False(SharedFilter.TryParse(raw, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData("jobs/#")]
    [InlineData("$share")]
    [InlineData("$SHARE/g/x")]
    [InlineData("share/g/x")]
    public void NotShared(string raw) => Assert.False(SharedFilter.IsShared(raw));

    [Theory]
    [InlineData("a/b", "a/b", true)]
    [InlineData("a/+", "a/b", true)]
    [InlineData("a/+", "a/b/c", false)]
    [InlineData("a/#", "a", true)]
    [InlineData("a/#", "a/b/c", true)]
    [InlineData("#", "a/b", true)]
    [InlineData("+/+", "a/b", true)]
    [InlineData("+", "a/b", false)]
    [InlineData("a/b", "a/b/c", false)]
    [InlineData("a/b/c", "a/b", false)]
    [InlineData("a//c", "a//c", true)]
    [InlineData("a/+/c", "a//c", true)]
    [InlineData("#", "$SYS/x", false)]
    [InlineData("+/x", "$SYS/x", false)]
    [InlineData("a/bc", "a/b", false)]
    public void TopicMatching(string filter, string topic, bool matches) => Assert.Equal(matches, SharedTopicFilter.Matches(filter, topic));
}
