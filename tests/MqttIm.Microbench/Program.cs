using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(MqttIm.Microbench.PublishPipelineBenchmarks).Assembly).Run(args);
