using System.Diagnostics;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Devices;

/// <summary>The <c>device</c> verb of the broker's command line, run as its own process against a running broker.</summary>
public sealed class DeviceCliTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private BrokerProcess Broker => fixture.Broker;

    [Fact]
    public async Task Register_List_Disable_Enable_Token_Delete()
    {
        var id = "cli-" + Guid.NewGuid().ToString("N")[..8];
        var owner = "ops" + Guid.NewGuid().ToString("N")[..6];

        var registered = await RunAsync("device", "register", id, "--owner", owner, "--owner", "group:fleet");
        Assert.Equal(0, registered.ExitCode);
        var secret = JsonDocument.Parse(registered.Out).RootElement.GetProperty("secret").GetString()!;
        Assert.Equal(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, secret, MqttProtocolVersion.V500));

        var listed = await RunAsync("device", "list", "--owner", owner);
        Assert.Equal(0, listed.ExitCode);
        Assert.Contains(id, listed.Out, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync("device", "disable", id)).ExitCode);
        Assert.NotEqual(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, secret, MqttProtocolVersion.V500));
        Assert.Equal(0, (await RunAsync("device", "enable", id)).ExitCode);
        Assert.Equal(MqttClientConnectResultCode.Success, await IotDevice.TryConnectAsync(Broker, id, secret, MqttProtocolVersion.V311));

        var token = await RunAsync("device", "token", id, "--ttl", "600");
        Assert.Equal(0, token.ExitCode);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(token.Out).RootElement.GetProperty("token").GetString()));

        Assert.Equal(0, (await RunAsync("device", "delete", id)).ExitCode);
        var shown = await RunAsync("device", "show", id);
        Assert.Equal(1, shown.ExitCode);
    }

    [Fact]
    public async Task WrongAdminKey_And_BadInput_AreRefused_WithTheirExitCodes()
    {
        var wrongKey = await RunAsync(withKey: false, "device", "list", "--admin-key", "not-the-key");
        Assert.Equal(1, wrongKey.ExitCode);

        var missingId = await RunAsync("device", "show");
        Assert.NotEqual(0, missingId.ExitCode);
        Assert.False(string.IsNullOrWhiteSpace(missingId.Err), "the parser says what is missing");

        var badTtl = await RunAsync("device", "token", "x", "--ttl", "soon");
        Assert.NotEqual(0, badTtl.ExitCode);

        var unreachable = await RunAsync(withKey: true, "device", "list", "--url", "http://127.0.0.1:1");
        Assert.Equal(3, unreachable.ExitCode);
    }

    private Task<(int ExitCode, string Out, string Err)> RunAsync(params string[] args) => RunAsync(withKey: true, args);

    private async Task<(int ExitCode, string Out, string Err)> RunAsync(bool withKey, params string[] args)
    {
        var startInfo = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        startInfo.ArgumentList.Add(RepoPaths.BrokerDll);
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        if (!args.Contains("--url"))
        {
            startInfo.ArgumentList.Add("--url");
            startInfo.ArgumentList.Add($"http://127.0.0.1:{Broker.HttpPort}");
        }

        if (withKey)
        {
            startInfo.ArgumentList.Add("--admin-key");
            startInfo.ArgumentList.Add(Broker.AdminKey);
        }

        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
