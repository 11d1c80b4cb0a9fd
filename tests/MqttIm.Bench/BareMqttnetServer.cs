using System.Net;
using MQTTnet.Server;

namespace MqttIm.Bench;

/// <summary>
/// The MQTTnet floor: <c>MqttIm.Bench bare-mqttnet --port N --parent-pid P</c> runs MQTTnet 5's server with its default
/// options (own TCP listener, no hooks, no interceptors) as its own process, so its CPU and RSS are read from /proc
/// exactly like Mosquitto's and MqttIm's. Every row that runs it therefore shows what MqttIm adds over the library it
/// is built on. Exits when the bench process is gone, so an interrupted run leaves nothing behind.
/// </summary>
public static class BareMqttnetServer
{
    public const string Verb = "bare-mqttnet";

    public static async Task<int> RunAsync(string[] args)
    {
        var port = 1883;
        var parentPid = 0;
        for (var i = 0; i < args.Length - 1; i++)
        {
            switch (args[i])
            {
                case "--port": port = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--parent-pid": parentPid = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
            }
        }

        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointPort(port)
            .Build();
        using var server = new MqttServerFactory().CreateMqttServer(options);
        await server.StartAsync().ConfigureAwait(false);
        Console.WriteLine(Fmt.Inv($"bare-mqttnet ready: port={port} pid={Environment.ProcessId}"));

        // Stay up until the bench (the parent) exits or kills this process.
        await WaitForExitAsync(parentPid).ConfigureAwait(false);

        await server.StopAsync().ConfigureAwait(false);
        return 0;
    }

    private static async Task WaitForExitAsync(int pid)
    {
        if (pid <= 0)
        {
            await Task.Delay(Timeout.Infinite).ConfigureAwait(false);
        }

        try
        {
            using var parent = System.Diagnostics.Process.GetProcessById(pid);
            await parent.WaitForExitAsync().ConfigureAwait(false);
        }
        catch (ArgumentException)
        {
            // Already gone.
        }
    }
}
