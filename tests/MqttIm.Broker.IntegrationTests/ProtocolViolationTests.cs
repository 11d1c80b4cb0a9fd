using System.Buffers;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 7 (ill-formed packets, topic aliases) and issue 13 item 7: what MQTTnet accepted although the spec calls
/// it malformed or a protocol error is refused in the broker's packet layer: MQTT 5 gets a DISCONNECT with the
/// reason code, 3.1.1 a closed connection; nothing of it is acknowledged or routed.
/// </summary>
public sealed class ProtocolViolationTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    public static TheoryData<int, Transport> Versions => new()
    {
        { 4, Transport.Tcp }, { 5, Transport.Tcp }, { 4, Transport.WebSocket }, { 5, Transport.WebSocket },
    };

    public static TheoryData<int, Transport, string> IllFormedTopics()
    {
        var data = new TheoryData<int, Transport, string>();
        foreach (var (level, transport) in new[] { (4, Transport.Tcp), (5, Transport.Tcp), (4, Transport.WebSocket), (5, Transport.WebSocket) })
        {
            foreach (var topic in new[] { "plus", "hash", "nul", "utf8" })
            {
                data.Add(level, transport, topic);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(IllFormedTopics))]
    public async Task PublishToIllFormedTopicName_Refused_NotAcked_NotRouted(int level, Transport transport, string kind)
    {
        var scope = $"plain/pv/{kind}{level}{transport}".ToLowerInvariant();
        byte[] topic = kind switch
        {
            "plus" => Encoding.UTF8.GetBytes(scope + "/+/x"),
            "hash" => Encoding.UTF8.GetBytes(scope + "/#"),
            "nul" => [.. Encoding.UTF8.GetBytes(scope + "/a"), 0x00, (byte)'b'],
            _ => [.. Encoding.UTF8.GetBytes(scope + "/"), 0xC3, 0x28],
        };
        await using var subscriber = await SubscriberAsync(scope + "/#");
        await using var raw = await ConnectRawAsync(level, transport);

        await raw.SendAsync(MqttBytes.Publish(level, topic, 1, 7, "bad"u8.ToArray()));

        await AssertRefusedAsync(raw, level, 0x90);
        await AssertNotRoutedAsync(subscriber, scope + "/sentinel");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task PublishWithQos3_RefusedAsMalformed_BeforeRouting(int level, Transport transport)
    {
        var scope = $"plain/pv/qos3{level}{transport}".ToLowerInvariant();
        await using var subscriber = await SubscriberAsync(scope + "/#");
        await using var raw = await ConnectRawAsync(level, transport);

        var publish = MqttBytes.Publish(level, Encoding.UTF8.GetBytes(scope + "/x"), 1, 7, "bad"u8.ToArray());
        publish[0] = 0x36; // QoS bits 11
        await raw.SendAsync(publish);

        await AssertRefusedAsync(raw, level, 0x81);
        await AssertNotRoutedAsync(subscriber, scope + "/sentinel");
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task SubscribeOrUnsubscribeWithoutFilters_ProtocolError(int level, Transport transport)
    {
        byte[] idAndProperties = level == 5 ? [0x00, 0x01, 0x00] : [0x00, 0x01];
        foreach (var first in new byte[] { 0x82, 0xA2 })
        {
            await using var raw = await ConnectRawAsync(level, transport);
            await raw.SendAsync(MqttBytes.Packet(first, idAndProperties));
            await AssertRefusedAsync(raw, level, 0x82);
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task SubscribeWithInvalidUtf8Filter_OrReservedBits_Malformed(int level, Transport transport)
    {
        byte[] idAndProperties = level == 5 ? [0x00, 0x01, 0x00] : [0x00, 0x01];
        var cases = new[]
        {
            MqttBytes.Packet(0x82, idAndProperties, MqttBytes.Bin([(byte)'p', 0xFF]), [0x00]),   // invalid UTF-8
            MqttBytes.Packet(0x82, idAndProperties, MqttBytes.Str("plain/a\0"), [0x00]),        // U+0000
            MqttBytes.Packet(0x80, idAndProperties, MqttBytes.Str("plain/a"), [0x00]),          // fixed-header flags must be 0010
            MqttBytes.Packet(0x82, idAndProperties, MqttBytes.Str("plain/a"), [0x03]),          // QoS 3
            MqttBytes.Packet(0x82, idAndProperties, MqttBytes.Str("plain/a"), [0xC0]),          // reserved option bits
        };
        foreach (var packet in cases)
        {
            await using var raw = await ConnectRawAsync(level, transport);
            await raw.SendAsync(packet);
            await AssertRefusedAsync(raw, level, 0x81);
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task ConnectWithInvalidUtf8ClientId_RefusedWithIdentifierCode(int level, Transport transport)
    {
        await using var raw = await RawMqttClient.ConnectAsync(_broker, transport);
        await raw.SendAsync(MqttBytes.Connect(level, "", "carol", _broker.Token("carol"), rawClientId: [(byte)'c', 0xC0, 0xAF]));

        var packets = await raw.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(5));
        var connAck = Assert.Single(packets);
        Assert.Equal(0x20, connAck[0]);
        // MQTT 5: 0x85 Client Identifier not valid; 3.1.1: return code 2, identifier rejected.
        Assert.Equal(level == 5 ? 0x85 : 0x02, connAck[3]);
    }

    [Theory]
    [InlineData(Transport.Tcp)]
    [InlineData(Transport.WebSocket)]
    public async Task TopicAliasMaximum_IsAnnounced_AndAliasesWithinItWork(Transport transport)
    {
        var scope = $"plain/pv/alias-ok-{transport}".ToLowerInvariant();
        await using var subscriber = await SubscriberAsync(scope + "/#");
        var options = TestDevice.Options(_broker, "aliaser", _broker.Token("aliaser"), "aliaser-" + transport, MqttProtocolVersion.V500, transport).Build();
        using var client = new MqttClientFactory().CreateMqttClient();
        var connected = await client.ConnectAsync(options);
        Assert.Equal(16, connected.TopicAliasMaximum);
        Assert.Equal(1024u * 1024, connected.MaximumPacketSize);

        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(scope + "/first").WithTopicAlias(16).WithPayload("1"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("").WithTopicAlias(16).WithPayload("2"u8.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        Assert.Equal(scope + "/first", (await subscriber.NextAsync()).Topic);
        var second = await subscriber.NextAsync();
        Assert.Equal(scope + "/first", second.Topic);
        Assert.Equal("2"u8.ToArray(), second.Payload.ToArray());
        await client.DisconnectAsync();
    }

    [Theory]
    [InlineData(Transport.Tcp, (ushort)0, 0x94)]
    [InlineData(Transport.Tcp, (ushort)17, 0x94)]
    [InlineData(Transport.WebSocket, (ushort)0, 0x94)]
    [InlineData(Transport.WebSocket, (ushort)65535, 0x94)]
    public async Task TopicAliasZeroOrOverTheMaximum_Disconnect0x94(Transport transport, ushort alias, int reason)
    {
        var scope = $"plain/pv/alias{alias}{transport}".ToLowerInvariant();
        await using var subscriber = await SubscriberAsync(scope + "/#");
        await using var raw = await ConnectRawAsync(5, transport);

        await raw.SendAsync(MqttBytes.Publish(5, Encoding.UTF8.GetBytes(scope + "/x"), 1, 3, "a"u8.ToArray(), MqttBytes.TopicAlias(alias)));

        await AssertRefusedAsync(raw, 5, (byte)reason);
        await AssertNotRoutedAsync(subscriber, scope + "/sentinel");
    }

    [Fact]
    public async Task UnknownTopicAlias_ProtocolError()
    {
        await using var raw = await ConnectRawAsync(5, Transport.Tcp);
        await raw.SendAsync(MqttBytes.Publish(5, [], 1, 3, "a"u8.ToArray(), MqttBytes.TopicAlias(5)));
        await AssertRefusedAsync(raw, 5, 0x82);
    }

    [Fact]
    public async Task ThousandsOfLargeAliases_StoppedAtTheByteBound_MemoryFlat()
    {
        // The probe's attack: 3,000 aliases of 30 KB each on one connection (+190 MB before).
        var before = _broker.ResidentBytes();
        await using var raw = await ConnectRawAsync(5, Transport.Tcp);
        var accepted = 0;
        for (ushort i = 1; i <= 3000; i++)
        {
            var topic = Encoding.UTF8.GetBytes($"plain/pv/big/{i}/" + new string('t', 30 * 1024));
            try
            {
                await raw.SendAsync(MqttBytes.Publish(5, topic, 0, 0, [], MqttBytes.TopicAlias((ushort)((i % 16) + 1))));
            }
            catch (Exception)
            {
                break;
            }

            accepted++;
            if (accepted > 64)
            {
                break;
            }
        }

        await AssertRefusedAsync(raw, 5, 0x97);
        var grown = _broker.ResidentBytes() - before;
        Assert.True(grown < 32L * 1024 * 1024, $"broker RSS grew by {grown / 1024 / 1024} MB");
    }

    private async Task<TestDevice> SubscriberAsync(string filter)
    {
        var device = await TestDevice.ConnectAsync(_broker, "watcher", subscribeInbox: false);
        await device.Client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        return device;
    }

    private async Task<RawMqttClient> ConnectRawAsync(int level, Transport transport)
    {
        var user = "raw" + level;
        var raw = await RawMqttClient.ConnectAsync(_broker, transport);
        var connAck = await raw.ConnectMqttAsync(MqttBytes.Connect(level, $"{user}-{Guid.NewGuid():N}"[..20], user, _broker.Token(user)));
        Assert.Equal(0x20, connAck[0]);
        Assert.Equal(0x00, connAck[3]);
        return raw;
    }

    /// <summary>MQTT 5: a DISCONNECT with <paramref name="reason"/> and then the close; 3.1.1: just the close. Never an ack.</summary>
    private static async Task AssertRefusedAsync(RawMqttClient raw, int level, byte reason)
    {
        var packets = await raw.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(packets, p => (p[0] >> 4) is 4 or 5 or 9 or 11);
        if (level == 5)
        {
            var disconnect = Assert.Single(packets);
            Assert.Equal(reason, MqttBytes.DisconnectReason(disconnect));
        }
        else
        {
            Assert.Empty(packets);
        }
    }

    /// <summary>A message published after the refusal arrives, and nothing arrived before it.</summary>
    private async Task AssertNotRoutedAsync(TestDevice subscriber, string sentinelTopic)
    {
        await using var publisher = await TestDevice.ConnectAsync(_broker, "sentinel", subscribeInbox: false);
        await publisher.PublishAsync(sentinelTopic, "ok"u8.ToArray());
        Assert.Equal(sentinelTopic, (await subscriber.NextAsync()).Topic);
    }
}
