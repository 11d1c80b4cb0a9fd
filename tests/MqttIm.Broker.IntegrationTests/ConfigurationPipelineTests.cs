using System.Security.Cryptography;
using MQTTnet;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Issue 7: the token CLI reads exactly what the broker reads (one configuration pipeline, MQTTIM_ environment included),
/// and settings are validated before anything listens.
/// </summary>
public sealed class ConfigurationPipelineTests
{
    private static Dictionary<string, string> SecretEnvironment() => new()
    {
        ["MQTTIM_Auth__Hs256Secret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
    };

    [Fact]
    public async Task CliToken_WithTheSecretInMqttimEnvironment_IsAcceptedByABrokerWithTheSameEnvironment()
    {
        var environment = SecretEnvironment();
        await using var broker = await BrokerProcess.StartWithEnvironmentAsync(environment);
        var cliEnvironment = new Dictionary<string, string>(environment) { ["MQTTIM_Storage__DataDirectory"] = broker.DataDirectory };

        var cli = await ProcessRunner.RunAsync("dotnet", [RepoPaths.BrokerDll, "token", "envuser", "--ttl", "10m"], TimeSpan.FromSeconds(60), environment: cliEnvironment);

        Assert.True(cli.ExitCode == 0, cli.StdErr);
        using var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(TestDevice.Options(broker, "envuser", cli.StdOut.Trim(), "envuser-dev").Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
    }

    [Fact]
    public async Task Cli_ReadsMqttimLimits_AndRefusesATtlBeyondTheMaximum()
    {
        var environment = SecretEnvironment();
        environment["MQTTIM_Auth__MaxTokenLifetime"] = "01:00:00";
        environment["MQTTIM_Storage__DataDirectory"] = Path.Combine(Path.GetTempPath(), "mqttim-cli-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var tooLong = await ProcessRunner.RunAsync("dotnet", [RepoPaths.BrokerDll, "token", "alice", "--ttl", "2h"], TimeSpan.FromSeconds(60), environment: environment);
            var fine = await ProcessRunner.RunAsync("dotnet", [RepoPaths.BrokerDll, "token", "alice", "--ttl", "30m"], TimeSpan.FromSeconds(60), environment: environment);

            Assert.Equal(2, tooLong.ExitCode);
            Assert.Contains("Auth:MaxTokenLifetime", tooLong.StdErr);
            Assert.True(fine.ExitCode == 0, fine.StdErr);
        }
        finally
        {
            if (Directory.Exists(environment["MQTTIM_Storage__DataDirectory"]))
            {
                Directory.Delete(environment["MQTTIM_Storage__DataDirectory"], recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("--Listen:MqttPort=70000", "Listen:MqttPort")]
    [InlineData("--Limits:MaxPacketBytes=5", "Limits:MaxPacketBytes")]
    [InlineData("--Auth:MaxTokenLifetime=00:00:10", "Auth:DefaultTokenLifetime")]
    [InlineData("--Sessions:MaxSessionExpiry=00:00:00", "MaxSessionExpiry")]
    public async Task InvalidSetting_StopsTheBroker_WithTheReason(string setting, string named)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "mqttim-badcfg-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var outcome = await ProcessRunner.RunAsync("dotnet",
                [RepoPaths.BrokerDll, "--Listen:Address=127.0.0.1", "--Listen:MqttPort=0", "--Listen:HttpPort=0", $"--Storage:DataDirectory={dataDirectory}", setting],
                TimeSpan.FromSeconds(60));

            Assert.NotEqual(0, outcome.ExitCode);
            Assert.Contains(named, outcome.StdErr + outcome.StdOut);
            Assert.DoesNotContain("MqttIm ready:", outcome.StdOut);
        }
        finally
        {
            if (Directory.Exists(dataDirectory))
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
        }
    }
}
