using MqttIm.Broker.Cli;

return await BrokerCommandLine.InvokeAsync(args);
