using System.Collections.Concurrent;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Devices;

/// <summary>A broker whose owner connection may queue all 2,000 forwarded points (the default queue drops beyond 1,000).</summary>
public sealed class FleetBrokerFixture() : BrokerFixture("--Limits:MaxPendingMessagesPerClient=10000");

/// <summary>A broker whose telemetry expires after 2 s (swept every 200 ms).</summary>
public sealed class ShortRetentionBrokerFixture() : BrokerFixture("--Iot:TelemetryRetention=00:00:02", "--Iot:RetentionSweepInterval=00:00:00.2");

/// <summary>Telemetry: persisted in batches, queryable by range and page, forwarded to owners.</summary>
public sealed class TelemetryTests(FleetBrokerFixture fixture) : IClassFixture<FleetBrokerFixture>
{
    private const int DeviceCount = 1000;

    private BrokerProcess Broker => fixture.Broker;

    [Fact]
    public async Task ThousandDevices_Persisted_Queryable_Forwarded()
    {
        var owner = "fleet-" + Guid.NewGuid().ToString("N")[..6];
        var ids = Enumerable.Range(0, DeviceCount).Select(i => $"t{i:D4}-{owner}").ToArray();
        using var http = Broker.Http();
        var tokens = new ConcurrentDictionary<string, string>();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, _) => tokens[id] = await Broker.RegisterTokenOnlyAsync(http, id, owner));

        // The owner watches every device's telemetry (granted per device; 100 filters per SUBSCRIBE).
        await using var watcher = await TestDevice.ConnectAsync(Broker, owner, subscribeInbox: false);
        foreach (var chunk in ids.Chunk(100))
        {
            var options = new MqttClientSubscribeOptionsBuilder();
            foreach (var id in chunk)
            {
                options.WithTopicFilter($"device/{id}/telemetry/#", MqttQualityOfServiceLevel.AtLeastOnce);
            }

            var granted = await watcher.Client.SubscribeAsync(options.Build());
            Assert.All(granted.Items, item => Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, item.ResultCode));
        }

        // 1,000 connected devices (one pool of MQTTnet clients), all online at once, each sending two points (QoS 1: PUBACK = stored).
        var clients = new ConcurrentBag<IMqttClient>();
        long start = 0;
        try
        {
            await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, _) =>
            {
                var client = new MqttClientFactory().CreateMqttClient();
                clients.Add(client);
                var result = await client.ConnectAsync(IotDevice.Options(Broker, id, tokens[id], MqttProtocolVersion.V311));
                Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
            });
            start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await Parallel.ForEachAsync(clients, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (client, _) =>
            {
                var id = client.Options.ClientId;
                for (var n = 0; n < 2; n++)
                {
                    var publish = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"device/{id}/telemetry/engine")
                        .WithPayload($$"""{"device":"{{id}}","n":{{n}}}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                    Assert.True(publish.IsSuccess, publish.ReasonString);
                }
            });
            var end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1;

            var received = new HashSet<(string, int)>();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (received.Count < DeviceCount * 2 && DateTime.UtcNow < deadline)
            {
                var message = await watcher.NextAsync(TimeSpan.FromSeconds(20));
                var json = IotDevice.Json(message);
                received.Add((json.GetProperty("device").GetString()!, json.GetProperty("n").GetInt32()));
            }

            Assert.Equal(DeviceCount * 2, received.Count);

            // Stored and queryable by range and by page (PUBACK came after the store, so everything is there now).
            foreach (var id in ids.Where((_, i) => i % 97 == 0))
            {
                var page1 = await http.GetJsonAsync($"/api/devices/{id}/telemetry?fromMs={start - 1}&toMs={end}&limit=1");
                var first = page1.GetProperty("points").EnumerateArray().Single();
                Assert.Equal(0, first.GetProperty("payload").GetProperty("n").GetInt32());
                var page2 = await http.GetJsonAsync($"/api/devices/{id}/telemetry?fromMs={start - 1}&toMs={end}&limit=1&after={page1.GetProperty("next").GetInt64()}");
                Assert.Equal(1, page2.GetProperty("points").EnumerateArray().Single().GetProperty("payload").GetProperty("n").GetInt32());
                Assert.Empty((await http.GetJsonAsync($"/api/devices/{id}/telemetry?fromMs={end}")).GetProperty("points").EnumerateArray());
                var state = await http.GetJsonAsync($"/api/devices/{id}/state");
                Assert.True(state.GetProperty("online").GetBoolean());
            }
        }
        finally
        {
            await Parallel.ForEachAsync(clients, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (client, _) =>
            {
                if (client.IsConnected)
                {
                    await client.DisconnectAsync();
                }

                client.Dispose();
            });
        }

        var offline = ids[0];
        await Poll.UntilAsync(async () => !(await http.GetJsonAsync($"/api/devices/{offline}/state")).GetProperty("online").GetBoolean(), "the device went offline");
        Assert.True((await http.GetJsonAsync($"/api/devices/{offline}/state")).GetProperty("lastSeenMs").GetInt64() >= start);
    }

    [Fact]
    public async Task OversizedTelemetry_IsRefused_AndStateIsPublishedToWatchers()
    {
        var owner = "own-" + Guid.NewGuid().ToString("N")[..6];
        var id = "big-" + owner;
        var secret = await Broker.RegisterAsync(id, owner);
        await using var watcher = await TestDevice.ConnectAsync(Broker, owner, subscribeInbox: false);
        await watcher.Client.SubscribeAsync($"device/{id}/state", MqttQualityOfServiceLevel.AtLeastOnce);
        var initial = IotDevice.Json(await watcher.NextAsync());
        Assert.False(initial.GetProperty("online").GetBoolean());

        await using var device = await IotDevice.ConnectAsync(Broker, id, secret, subscribeCommands: false);
        var online = await watcher.NextAsync();
        Assert.True(online.Retain);
        Assert.True(IotDevice.Json(online).GetProperty("online").GetBoolean());

        var tooBig = await device.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"device/{id}/telemetry")
            .WithPayload(new byte[70_000]).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, tooBig.ReasonCode);
        Assert.Equal("payload_too_large", CodeOf(tooBig));
    }

    [Fact]
    public async Task DeviceUplinks_AreAnsweredInThePuback_RefusalsWithReasonAndStableCode_TelemetryForwardedAtItsQos()
    {
        var owner = "own-" + Guid.NewGuid().ToString("N")[..6];
        var (id, orphan) = ("up-" + owner, "orphan-" + owner);
        var secret = await Broker.RegisterAsync(id, owner);
        var orphanSecret = await Broker.RegisterAsync(orphan);
        await using var watcher = await TestDevice.ConnectAsync(Broker, owner, subscribeInbox: false);
        var granted = await watcher.Client.SubscribeAsync($"device/{id}/telemetry/#", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, granted.Items.Single().ResultCode);
        await using var device = await IotDevice.ConnectAsync(Broker, id, secret, subscribeCommands: false);

        var reply = await device.PublishAsync($"device/{id}/cmd/nosuch/reply", """{"status":"succeeded"}""");
        Assert.Equal((MqttClientPublishReasonCode.ImplementationSpecificError, "wrong_state"), (reply.ReasonCode, CodeOf(reply)));
        Assert.Contains("not awaiting a reply", reply.ReasonString, StringComparison.Ordinal);

        var sync = await device.PublishAsync($"device/{id}/sync", "not json");
        Assert.Equal((MqttClientPublishReasonCode.PayloadFormatInvalid, "invalid_payload"), (sync.ReasonCode, CodeOf(sync)));
        Assert.True((await device.PublishAsync($"device/{id}/sync", """{"afterSeq":0}""")).IsSuccess);

        var badAlert = await device.PublishAsync($"device/{id}/alert", """{"severity":"loud"}""");
        Assert.Equal((MqttClientPublishReasonCode.PayloadFormatInvalid, "invalid_payload"), (badAlert.ReasonCode, CodeOf(badAlert)));
        await using (var lonely = await IotDevice.ConnectAsync(Broker, orphan, orphanSecret, subscribeCommands: false))
        {
            var unheard = await lonely.PublishAsync($"device/{orphan}/alert", """{"severity":"info","text":"nobody owns me"}""");
            Assert.Equal((MqttClientPublishReasonCode.NoMatchingSubscribers, "no_owner"), (unheard.ReasonCode, CodeOf(unheard)));

            // Every alert counts against Iot:MaxAlertsPerMinute (60), delivered or not: the 61st within the minute is refused.
            for (var i = 2; i <= 60; i++)
            {
                Assert.Equal("no_owner", CodeOf(await lonely.PublishAsync($"device/{orphan}/alert", """{"severity":"info"}""")));
            }

            var flood = await lonely.PublishAsync($"device/{orphan}/alert", """{"severity":"info"}""");
            Assert.Equal((MqttClientPublishReasonCode.QuotaExceeded, "rate_limited"), (flood.ReasonCode, CodeOf(flood)));
        }

        // Accepted telemetry: a plain PUBACK; the owner gets each point at the QoS it was sent with, stamped receivedMs.
        Assert.True((await device.TelemetryAsync("""{"t":1}""", "temp")).IsSuccess);
        var atLeastOnce = await watcher.NextAsync();
        await device.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"device/{id}/telemetry/temp")
            .WithPayload("""{"t":2}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce).Build());
        var atMostOnce = await watcher.NextAsync();
        Assert.Equal((1, MqttQualityOfServiceLevel.AtLeastOnce), (IotDevice.Json(atLeastOnce).GetProperty("t").GetInt32(), atLeastOnce.QualityOfServiceLevel));
        Assert.Equal((2, MqttQualityOfServiceLevel.AtMostOnce), (IotDevice.Json(atMostOnce).GetProperty("t").GetInt32(), atMostOnce.QualityOfServiceLevel));
        Assert.All([atLeastOnce, atMostOnce], m => Assert.True(long.Parse(m.UserProperties!.Single(p => p.Name == "receivedMs").ReadValueAsString(), System.Globalization.CultureInfo.InvariantCulture) > 0));
    }

    private static string? CodeOf(MqttClientPublishResult result) => result.Property("code");
}

/// <summary>Retention: telemetry older than Iot:TelemetryRetention is deleted by the sweep, newer points stay.</summary>
public sealed class TelemetryRetentionTests(ShortRetentionBrokerFixture fixture) : IClassFixture<ShortRetentionBrokerFixture>
{
    [Fact]
    public async Task Points_ExpireAfterTheirRetention()
    {
        var broker = fixture.Broker;
        var id = "probe-" + Guid.NewGuid().ToString("N")[..8];
        var secret = await broker.RegisterAsync(id);
        await using var device = await IotDevice.ConnectAsync(broker, id, secret, subscribeCommands: false);
        Assert.True((await device.TelemetryAsync("""{"v":1}""")).IsSuccess);
        using var http = broker.Http();
        Assert.Equal(1, (await http.GetJsonAsync($"/api/devices/{id}/telemetry")).GetProperty("points").GetArrayLength());

        await Poll.UntilAsync(async () => (await http.GetJsonAsync($"/api/devices/{id}/telemetry")).GetProperty("points").GetArrayLength() == 0,
            "the retention sweep deleted the point", TimeSpan.FromSeconds(30));
        Assert.True((await device.TelemetryAsync("""{"v":2}""")).IsSuccess);
        var latest = await http.GetJsonAsync($"/api/devices/{id}/telemetry/latest");
        Assert.Equal(2, latest.GetProperty("payload").GetProperty("v").GetInt32());
    }
}
