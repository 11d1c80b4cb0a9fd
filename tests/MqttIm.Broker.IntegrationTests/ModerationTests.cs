using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>The per-connection publish rate limit and the sensitive-word filter, on real broker processes.</summary>
public sealed class ModerationTests(ModerationBrokersFixture fixture) : IClassFixture<ModerationBrokersFixture>
{
    private const int BurstSize = 20;
    private readonly BrokerProcess _masking = fixture.Masking;
    private readonly BrokerProcess _rejecting = fixture.Rejecting;

    private static async Task<List<MqttClientPublishResult>> PublishBurstAsync(TestDevice device, string topic)
    {
        var results = new List<MqttClientPublishResult>();
        for (var i = 0; i < BurstSize; i++)
        {
            results.Add(await device.PublishAsync(topic, Encoding.UTF8.GetBytes($"{{\"text\":\"burst {i}\"}}")));
        }

        return results;
    }

    [Fact]
    public async Task PlainTopicBurst_OverTheLimit_QuotaExceeded_OtherClientUnaffected_AndRecoversAfterASecond()
    {
        var topic = $"sensors/{Guid.NewGuid():N}";
        await using var flooder = await TestDevice.ConnectAsync(_masking, TestUsers.Unique("flood"), subscribeInbox: false);
        await using var other = await TestDevice.ConnectAsync(_masking, TestUsers.Unique("other"), subscribeInbox: false);
        await using var listener = await TestDevice.ConnectAsync(_masking, TestUsers.Unique("listen"), subscribeInbox: false);
        await listener.Client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);

        var results = await PublishBurstAsync(flooder, topic);

        Assert.All(results.Take(ModerationBrokersFixture.Burst), r => Assert.Equal(MqttClientPublishReasonCode.Success, r.ReasonCode));
        var refused = results.Where(r => r.ReasonCode == MqttClientPublishReasonCode.QuotaExceeded).ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, r => Assert.Contains("rate limit", r.ReasonString));
        Assert.Equal(BurstSize, results.Count(r => r.IsSuccess) + refused.Count);

        // Only the accepted publishes reach subscribers.
        var accepted = results.Count(r => r.IsSuccess);
        for (var i = 0; i < accepted; i++)
        {
            await listener.NextAsync();
        }

        // Barrier: the listener's own publish on the topic comes after anything the refused ones could have delivered.
        Assert.Empty(await listener.ReceivedBeforeAsync(() => listener.PublishAsync(topic, "{\"text\":\"marker\"}"u8.ToArray()),
            m => Encoding.UTF8.GetString(m.Payload) == "{\"text\":\"marker\"}"));

        // Another connection has its own bucket.
        for (var i = 0; i < ModerationBrokersFixture.Burst; i++)
        {
            var result = await other.PublishAsync(topic, [1]);
            Assert.True(result.IsSuccess, $"other client publish {i}: {result.ReasonCode} {result.ReasonString}");
        }

        // The flooder's bucket refills at the configured rate: its publishes are refused until a token is back, then
        // accepted (a refused publish takes no token). Polled, bounded in attempts and time.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        for (var attempt = 0; ; attempt++)
        {
            var again = await flooder.PublishAsync(topic, [2]);
            if (again.IsSuccess)
            {
                break;
            }

            Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, again.ReasonCode);
            Assert.True(attempt < 400 && DateTime.UtcNow < deadline, "the flooder's bucket never refilled");
            await Task.Delay(TimeSpan.FromMilliseconds(50)); // between polls, well under the refill interval
        }
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task ImTopicBurst_OverTheLimit_SendErrorRateLimitedOnTheInbox(MqttProtocolVersion version)
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_masking, alice, version: version);
        await using var b = await TestDevice.ConnectAsync(_masking, bob);

        var results = await PublishBurstAsync(a, $"im/c2c/{bob}");

        var error = await a.NextEventAsync(e => e.EventCase == InboxEvent.EventOneofCase.SendError);
        Assert.Equal("rate_limited", error.SendError.Code);
        Assert.Equal($"im/c2c/{bob}", error.SendError.Topic);
        if (version == MqttProtocolVersion.V500)
        {
            Assert.All(results.Take(ModerationBrokersFixture.Burst), r => Assert.True(r.IsSuccess, $"{r.ReasonCode} {r.ReasonString}"));
            Assert.Contains(results, r => r.ReasonCode == MqttClientPublishReasonCode.QuotaExceeded);
        }

        // The peer gets the accepted messages, contiguous from seq 1.
        var first = await b.NextChatMessageAsync();
        Assert.Equal(1, first.Seq);
        Assert.Equal("burst 0", first.Text);
    }

    [Fact]
    public async Task MaskMode_SensitiveWordsArriveAsStars()
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_masking, alice);
        await using var b = await TestDevice.ConnectAsync(_masking, bob, version: MqttProtocolVersion.V311);

        var result = await a.SendAsync(bob, "this BADWORD is 坏词, ok", "m1");
        Assert.True(result.IsSuccess, $"{result.ReasonCode} {result.ReasonString}");

        var message = await b.NextChatMessageAsync();
        Assert.Equal("this ******* is **, ok", message.Text);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task RejectMode_SendRefused_ContentRejected_NothingDelivered(MqttProtocolVersion version)
    {
        var (alice, bob) = (TestUsers.Unique("alice"), TestUsers.Unique("bob"));
        await using var a = await TestDevice.ConnectAsync(_rejecting, alice, version: version);
        await using var b = await TestDevice.ConnectAsync(_rejecting, bob);

        var result = await a.SendAsync(bob, "这是坏词", "bad-1");
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, result.ReasonCode);
        }

        var error = await a.NextEventAsync(e => e.EventCase == InboxEvent.EventOneofCase.SendError);
        Assert.Equal("content_rejected", error.SendError.Code);
        Assert.Equal("bad-1", error.SendError.ClientMsgId);

        // Nothing was stored or delivered: the next clean message is the first bob gets, and seq 1.
        var clean = await a.SendAsync(bob, "all good", "good-1");
        Assert.True(clean.IsSuccess, $"{clean.ReasonCode} {clean.ReasonString}");
        var delivered = await b.NextChatMessageAsync();
        Assert.Equal("all good", delivered.Text);
        Assert.Equal(1, delivered.Seq);
    }
}
