using BenchmarkDotNet.Running;

if (args is ["message-log", ..])
{
    await MqttIm.Microbench.MessageLogOpenMeasurement.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(MqttIm.Microbench.PublishPipelineBenchmarks).Assembly).Run(args);
