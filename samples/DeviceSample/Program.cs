// A tanker truck (seed 002): reports GPS every 2 s and opens its lock when told to.
// usage: dotnet run --project samples/DeviceSample -- <deviceId> <secret> [host] [port]
using MqttIm.DeviceSdk.Devices;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: DeviceSample <deviceId> <secret-or-device-token> [host=localhost] [port=1883]");
    return 2;
}

await using var device = new DeviceClient();
var locked = true;
device.OnCommand("unlock", (command, _) =>
{
    locked = false;
    Console.WriteLine($"#{command.Seq} unlock {command.Payload}");
    return Task.FromResult(CommandResult.Success(new { locked }));
});
device.OnCommand("lock", (command, _) =>
{
    locked = true;
    Console.WriteLine($"#{command.Seq} lock");
    return Task.FromResult(CommandResult.Success(new { locked }));
});
device.ConnectionChanged += up => Console.WriteLine(up ? "connected" : "connection lost, reconnecting…");
device.BackgroundError += ex => Console.Error.WriteLine("background: " + ex.Message);

await device.ConnectAsync(new DeviceClientOptions
{
    DeviceId = args[0],
    Secret = args[1],
    Host = args.Length > 2 ? args[2] : "localhost",
    Port = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 1883,
});

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

var (lat, lon) = (31.2304, 121.4737);
using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
try
{
    while (await timer.WaitForNextTickAsync(stop.Token))
    {
        (lat, lon) = (lat + Random.Shared.NextDouble() * 0.001, lon + Random.Shared.NextDouble() * 0.001);
        device.SendTelemetry(new { lat, lon, locked, fuel = 0.8 }, "gps");
    }
}
catch (OperationCanceledException)
{
}

return 0;
