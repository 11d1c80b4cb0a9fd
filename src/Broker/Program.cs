using System.Net.Sockets;
using MqttIm.Broker.Cli;
using MqttIm.Broker.Hosting;

if (args is ["token", .. var tokenArgs])
{
    return TokenCommand.Run(tokenArgs);
}

if (args is ["device", .. var deviceArgs])
{
    return await DeviceCommand.RunAsync(deviceArgs);
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// MQTTIM_-prefixed environment variables sit just below the command line, which keeps the last word.
var commandLine = builder.Configuration.Sources.OfType<Microsoft.Extensions.Configuration.CommandLine.CommandLineConfigurationSource>().LastOrDefault();
builder.Configuration.Sources.Insert(
    commandLine is null ? builder.Configuration.Sources.Count : builder.Configuration.Sources.IndexOf(commandLine),
    new Microsoft.Extensions.Configuration.EnvironmentVariables.EnvironmentVariablesConfigurationSource { Prefix = "MQTTIM_" });
builder.AddMqttImBroker();
var app = builder.Build();
app.UseMqttImBroker();

try
{
    await app.RunAsync();
    return 0;
}
catch (IOException ex) when (ex.InnerException is SocketException || ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
{
    Console.Error.WriteLine($"MqttIm cannot listen: {ex.Message}. Free the port or choose another (--Listen:MqttPort=…, --Listen:HttpPort=…).");
    return 2;
}
