using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>The wire names of command states (snake_case, docs/PROTOCOL.md).</summary>
public static class CommandStateNames
{
    public static string Of(CommandState state) => state switch
    {
        CommandState.TimedOut => "timed_out",
        _ => state.ToString().ToLowerInvariant(),
    };
}
