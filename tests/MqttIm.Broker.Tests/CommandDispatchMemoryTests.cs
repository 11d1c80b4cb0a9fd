using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.ImExtensions.Devices;
using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.Testing;

namespace MqttIm.Broker.Tests;

/// <summary>
/// A device connection that lives for months gets commands all that time: what the dispatcher remembers it put into
/// that connection's session (so a later flush does not send it twice) must shrink again as the device acknowledges.
/// </summary>
public sealed class CommandDispatchMemoryTests : IAsyncDisposable
{
    private const int Commands = 40;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly InProcessBroker _broker = new();

    public ValueTask DisposeAsync() => _broker.DisposeAsync();

    [Fact]
    public async Task CommandsAcknowledgedByTheDevice_AreNotRememberedAsUnacknowledged()
    {
        await _broker.StartAsync();
        var registry = _broker.Services.GetRequiredService<DeviceRegistry>();
        var commands = _broker.Services.GetRequiredService<CommandService>();
        var dispatcher = _broker.Services.GetRequiredService<CommandDispatcher>();
        const string deviceId = "meter-1";
        var (_, secret) = (await registry.RegisterAsync(deviceId, ["owner-1"], tokenOnly: false, CancellationToken.None))!.Value;

        var received = System.Threading.Channels.Channel.CreateUnbounded<string>();
        using var device = new MqttClientFactory().CreateMqttClient();
        device.ApplicationMessageReceivedAsync += args => // acknowledged (PUBACK) when this returns
        {
            received.Writer.TryWrite(args.ApplicationMessage.Topic);
            return Task.CompletedTask;
        };
        await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _broker.MqttPort)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithClientId(deviceId).WithCredentials(deviceId, secret).WithTimeout(Timeout).Build());
        await device.SubscribeAsync($"device/{deviceId}/cmd/#", MqttQualityOfServiceLevel.AtLeastOnce);

        var issued = new List<string>();
        for (var i = 0; i < Commands; i++)
        {
            var (command, _, reason) = await commands.IssueAsync(deviceId, new CommandRequest("read", JsonDocument.Parse("{}").RootElement, null, null, null), "owner-1", CancellationToken.None);
            Assert.True(command is not null, reason);
            issued.Add(command!.CommandId);
        }

        using var deadline = new CancellationTokenSource(Timeout);
        for (var i = 0; i < Commands; i++)
        {
            Assert.StartsWith($"device/{deviceId}/cmd/", await received.Reader.ReadAsync(deadline.Token));
        }

        // Every PUBACK moves its command to delivered and then lets the dispatcher forget it (waited on, bounded).
        await Poll.UntilAsync(async () =>
        {
            foreach (var commandId in issued)
            {
                if ((await commands.GetAsync(commandId, CancellationToken.None))?.State != CommandState.Delivered)
                {
                    return false;
                }
            }

            return true;
        }, "every command delivered", Timeout);
        await Poll.UntilAsync(() => dispatcher.SentUnacknowledgedCount(deviceId) == 0,
            "the dispatcher to forget the acknowledged commands", Timeout);
        Assert.True(device.IsConnected);
    }
}
