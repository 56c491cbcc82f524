using System.CommandLine;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.HuggingFace;
using Reinforce.Rlhf.Text;

namespace Reinforce.Cli.Commands;

internal static partial class RlhfCommand
{
    /// <summary>The LoRA options shared by `rlhf train` and `rlhf dpo`: --lora RANK, --lora-alpha, --lora-dropout, --lora-targets.</summary>
    internal sealed class LoraCliOptions
    {
        public Option<int> Rank { get; } = new("--lora") { Description = "Train LoRA adapters of this rank instead of every weight (0: full fine-tuning). The KL/DPO reference is then the base model with the adapters off.", DefaultValueFactory = _ => 0 };
        public Option<double> Alpha { get; } = new("--lora-alpha") { Description = "LoRA alpha: the update is scaled by alpha / rank (default: twice the rank)." };
        public Option<double> Dropout { get; } = new("--lora-dropout") { Description = "Dropout on the adapters' input while training (PEFT's lora_dropout; reaches c_fc and mlp.c_proj).", DefaultValueFactory = _ => 0.0 };
        public Option<string> Targets { get; } = new("--lora-targets") { Description = "Comma-separated LoRA target modules: c_attn, c_proj, c_fc.", DefaultValueFactory = _ => "c_attn" };

        public IEnumerable<Option> All => [Rank, Alpha, Dropout, Targets];

        /// <summary>The adapters' settings, or null for full fine-tuning; a bad setting is an error naming the option.</summary>
        public LoraOptions? Read(ParseResult parse, int seed)
        {
            int rank = parse.GetValue(Rank);
            if (rank < 0) throw new ArgumentException($"--lora is {rank}; give a rank of 1 or more (8 or 16 is usual), or 0 for full fine-tuning.");
            if (rank == 0) return null;
            var options = new LoraOptions
            {
                Rank = rank, Alpha = parse.GetValue(Alpha) is double a and > 0 ? a : 2.0 * rank, Dropout = parse.GetValue(Dropout),
                TargetModules = [.. parse.GetValue(Targets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                Seed = seed,
            };
            options.Validate();
            return options;
        }
    }

    /// <summary>The base model as adapter_config.json names it (<c>base_model_name_or_path</c>, where PEFT loads it from): the path as the user gave it.</summary>
    internal static string BaseModelName(string modelPath) => Path.TrimEndingDirectorySeparator(modelPath);

    /// <summary>
    /// Writes a fine-tuned model in Hugging Face's GPT-2 layout (with LoRA: the merged weights; the adapters stay on the
    /// model). A model with a character tokenizer has no Hugging Face form, which is an error naming the fix.
    /// </summary>
    internal static void SaveHuggingFace(string folder, Gpt model, ITokenizer tokenizer, string dtype)
    {
        if (tokenizer is not ByteLevelBpeTokenizer bpe)
            throw new ArgumentException($"--save-hf needs a byte-level BPE model; this one uses {tokenizer.Description}. Pretrain with `reinforce lm pretrain --tokenizer bpe` (or start from a Hugging Face GPT-2 folder).");
        Gpt2Folder.Save(folder, model, bpe, overwrite: true, dtype: dtype, state: model.Lora?.MergedState());
    }
}
