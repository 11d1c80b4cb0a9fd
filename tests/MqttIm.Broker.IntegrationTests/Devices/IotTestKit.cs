using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Devices;

/// <summary>Registering devices over the admin API and driving the device API as an operator or as a user.</summary>
internal static class IotTestKit
{
    public static async Task<string> RegisterAsync(this BrokerProcess broker, string deviceId, params string[] owners)
    {
        var answer = await broker.AdminPostAsync("/api/admin/devices", new { deviceId, owners });
        return answer.GetProperty("secret").GetString()!;
    }

    public static async Task<string> RegisterTokenOnlyAsync(this BrokerProcess broker, HttpClient http, string deviceId, params string[] owners)
    {
        var response = await http.PostAsJsonAsync("/api/admin/devices", new { deviceId, owners, tokenOnly = true });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("token").GetString()!;
    }

    public static HttpClient UserHttp(this BrokerProcess broker, string userId)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{broker.HttpPort}"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", broker.Token(userId));
        return http;
    }

    public static async Task<JsonElement> GetJsonAsync(this HttpClient http, string path)
    {
        var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} → {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<(int Status, JsonElement Body)> PostJsonAsync(this HttpClient http, string path, object? body)
    {
        var response = body is null ? await http.PostAsync(path, null) : await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Issues a command as the operator; returns its id.</summary>
    public static async Task<JsonElement> IssueAsync(this BrokerProcess broker, string deviceId, object command)
    {
        using var http = broker.Http();
        var (status, body) = await http.PostJsonAsync($"/api/devices/{deviceId}/commands", command);
        Assert.True(status is 200 or 202, $"issue → {status}: {body}");
        return body;
    }

    public static async Task<JsonElement> CommandAsync(this BrokerProcess broker, string deviceId, string commandId)
    {
        using var http = broker.Http();
        return await http.GetJsonAsync($"/api/devices/{deviceId}/commands/{commandId}");
    }

    /// <summary>Polls the command until it is in <paramref name="state"/> (bounded by the deadline).</summary>
    public static async Task<JsonElement> WaitForStateAsync(this BrokerProcess broker, string deviceId, string commandId, string state, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        using var http = broker.Http();
        JsonElement command;
        do
        {
            command = await http.GetJsonAsync($"/api/devices/{deviceId}/commands/{commandId}?waitSeconds=1");
            if (command.GetProperty("state").GetString() == state)
            {
                return command;
            }
        }
        while (DateTime.UtcNow < deadline);

        throw new TimeoutException($"command {commandId} is {command.GetProperty("state")}, not {state}: {command}");
    }

    public static string[] StatesOf(JsonElement command) => command.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("state").GetString()!).ToArray();
}

/// <summary>One IoT device on a real MQTTnet connection, collecting what it receives; acks automatically unless told not to.</summary>
internal sealed class IotDevice : IAsyncDisposable
{
    private readonly Channel<MqttApplicationMessageReceivedEventArgs> _received = Channel.CreateUnbounded<MqttApplicationMessageReceivedEventArgs>();

    private IotDevice(IMqttClient client, string deviceId)
    {
        Client = client;
        DeviceId = deviceId;
    }

    public IMqttClient Client { get; }

    public string DeviceId { get; }

    /// <summary>When false, received commands are not PUBACKed until <see cref="AckAsync"/>.</summary>
    public bool AutoAck { get; set; } = true;

    public static MqttClientOptions Options(BrokerProcess broker, string deviceId, string password, MqttProtocolVersion version, bool cleanSession = true) =>
        new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", broker.MqttPort)
            .WithClientId(deviceId)
            .WithCredentials(deviceId, password)
            .WithProtocolVersion(version)
            .WithCleanSession(cleanSession)
            .WithTimeout(TimeSpan.FromSeconds(15))
            .Build();

    public static async Task<MqttClientConnectResultCode> TryConnectAsync(BrokerProcess broker, string deviceId, string password, MqttProtocolVersion version)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(Options(broker, deviceId, password, version));
        if (client.IsConnected)
        {
            await client.DisconnectAsync();
        }

        return result.ResultCode;
    }

    public static async Task<IotDevice> ConnectAsync(BrokerProcess broker, string deviceId, string password,
        MqttProtocolVersion version = MqttProtocolVersion.V500, bool subscribeCommands = true, bool autoAck = true)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var device = new IotDevice(client, deviceId) { AutoAck = autoAck };
        client.ApplicationMessageReceivedAsync += args =>
        {
            args.AutoAcknowledge = device.AutoAck;
            device._received.Writer.TryWrite(args);
            return Task.CompletedTask;
        };
        var result = await client.ConnectAsync(Options(broker, deviceId, password, version));
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        if (subscribeCommands)
        {
            var sub = await client.SubscribeAsync($"device/{deviceId}/cmd/#", MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, sub.Items.Single().ResultCode);
        }

        return device;
    }

    public async Task<MqttApplicationMessageReceivedEventArgs> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        try
        {
            return await _received.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"device {DeviceId} received nothing in time");
        }
    }

    public async Task<MqttApplicationMessageReceivedEventArgs?> TryNextAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            return await _received.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public static JsonElement Json(MqttApplicationMessage message) =>
        JsonDocument.Parse(Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(message.Payload))).RootElement.Clone();

    public Task<MqttClientPublishResult> PublishAsync(string topic, string json) =>
        Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(json).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    public Task<MqttClientPublishResult> TelemetryAsync(string json, string subtopic = "") =>
        PublishAsync($"device/{DeviceId}/telemetry" + (subtopic.Length > 0 ? "/" + subtopic : ""), json);

    /// <summary>Replies to a received command the 3.1.1 way (reply topic) or, for MQTT 5, on its ResponseTopic with its CorrelationData.</summary>
    public Task<MqttClientPublishResult> ReplyAsync(MqttApplicationMessage command, string json)
    {
        var id = Json(command).GetProperty("commandId").GetString()!;
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(command.ResponseTopic ?? $"device/{DeviceId}/cmd/{id}/reply")
            .WithPayload(json)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (command.CorrelationData is { } correlation)
        {
            builder.WithCorrelationData(correlation);
        }

        return Client.PublishAsync(builder.Build());
    }

    public Task AckAsync(MqttApplicationMessageReceivedEventArgs received) => received.AcknowledgeAsync(CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        if (Client.IsConnected)
        {
            await Client.DisconnectAsync();
        }

        Client.Dispose();
    }
}
