using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.HuggingFace;
using Reinforce.Rlhf.Text;

namespace Reinforce.Rlhf.Training;

/// <summary>Where a language model can come from on disk: a checkpoint file, a run folder holding one, or a Hugging Face GPT-2 folder.</summary>
public static class LanguageModelFiles
{
    /// <summary>
    /// Loads the language model at <paramref name="path"/>: a Hugging Face GPT-2 folder (config.json, model.safetensors,
    /// tokenizer files), a folder holding <c>model.safetensors</c> (a run folder), or a checkpoint file. A missing file or
    /// tokenizer is a <see cref="FileNotFoundException"/> saying what to give instead.
    /// </summary>
    public static (Gpt Model, ITokenizer Tokenizer, IReadOnlyDictionary<string, string> Facts) Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Gpt2Folder.IsModelFolder(path))
        {
            var hf = Gpt2Folder.Load(path);
            if (hf.Tokenizer is null)
                throw new FileNotFoundException($"the model folder '{path}' has no tokenizer (vocab.json + merges.txt, or tokenizer.json); copy the tokenizer files that came with the model into it.");
            return (hf.Model, hf.Tokenizer, new Dictionary<string, string> { ["source"] = "huggingface" });
        }
        if (Directory.Exists(path))
        {
            string weights = Path.Combine(path, LmCheckpoint.ModelFile);
            // A folder with weights that are not a Reinforce checkpoint is a Hugging Face folder missing its config.json.
            if (!File.Exists(weights) || !SafeTensors.ReadHeader(weights).Metadata.TryGetValue("format", out var format) || format != "reinforce-rlhf/1")
                Gpt2Folder.ReadConfig(path);   // throws, naming config.json and the fix
            path = weights;
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"no checkpoint at '{path}'. Pretrain one with `reinforce lm pretrain` (it writes runs/lm/model.safetensors), or give a Hugging Face GPT-2 folder.", path);
        return LmCheckpoint.LoadLanguageModel(path);
    }
}
